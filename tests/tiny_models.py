"""Tiny, randomly initialised transformers models with real fast tokenizers, built offline for the tests.

``build_tiny_model(family, root)`` writes a seeded model directory (config.json, safetensors weights and a
``tokenizer.json`` trained here with the ``tokenizers`` library on the small corpus below) that
``AutoConfig``/``AutoModel*``/``AutoTokenizer.from_pretrained`` load without network access. Decoder families get
a byte-level BPE tokenizer (offsets trimmed of the leading space), encoders a WordPiece one (bert, mpnet) or a
byte-level BPE one (roberta), each with the special tokens its family adds in the post-processor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CAUSAL_FAMILIES: tuple[str, ...] = ("llama", "gemma3", "qwen2", "mistral", "gpt2", "phi3")
ENCODER_FAMILIES: tuple[str, ...] = ("bert", "roberta", "mpnet")
FAMILIES: tuple[str, ...] = CAUSAL_FAMILIES + ENCODER_FAMILIES

HIDDEN = 32
LAYERS = 3
HEADS = 4
KV_HEADS = 2
INTERMEDIATE = 64
MAX_POSITIONS = 256

# Written for these tests (a few hundred words of plain prose, ASCII only so byte offsets equal char offsets).
CORPUS = """
The lighthouse keeper climbed the spiral stairs every evening at dusk and lit the great lamp above the harbour.
Fishing boats came home slowly across the grey water, their small engines humming under a low sky.
On windy nights the keeper wrote long letters to his sister, who grew apples and pears on a farm inland.
She answered with news of the orchard: the early frost, the bees in the clover, a fox that stole three hens.
In spring the village held a market in the square, with bread, cheese, honey, wool and painted pottery.
Children ran between the stalls while their parents argued about the price of onions and the weather.
A travelling musician played the fiddle near the fountain, and an old dog slept in the warm sunlight.
The baker opened her shop before sunrise; the smell of fresh loaves drifted down the narrow streets.
Students walked to school along the river, counting herons, ducks and the occasional silver fish.
Their teacher explained how rivers carve valleys, how clouds form over mountains and why tides rise twice a day.
After lunch they measured the shadow of a tall pole and learned that the sun moves across the sky from east to west.
A carpenter repaired the roof of the library, replacing broken tiles with new ones made of red clay.
Inside, readers borrowed novels, maps, cookery books and a heavy atlas with every country of the world.
The librarian kept a quiet garden behind the building, where she grew tomatoes, beans, mint and sunflowers.
When the harvest came, neighbours helped one another carry baskets, press cider and store potatoes for winter.
In autumn the forest turned gold and copper, and walkers gathered mushrooms, chestnuts and fallen leaves.
Snow arrived in December; the hills went white, the lake froze at the edges and the roads became slippery.
People lit fires, told stories, sang songs and waited patiently for the longer days of the new year.
A young engineer designed a small bridge over the stream so that the farmers could reach the northern fields.
She tested the design with a model of wood and string, adding weight until the beams began to bend.
The finished bridge was painted blue, and on opening day the mayor gave a short speech and cut a ribbon.
Numbers and letters: one two three four five six seven eight nine ten, alpha beta gamma delta.
""".strip()


@dataclass(frozen=True)
class Specials:
    """Special tokens of one tokenizer style: names, their roles and the post-processor template."""

    tokens: tuple[str, ...]
    roles: dict[str, str]
    single: str  # TemplateProcessing template for one sequence ("" = no post-processor template)


def _specials(family: str) -> Specials:
    if family in ("llama", "mistral", "phi3"):
        return Specials(("<unk>", "<s>", "</s>", "<pad>"),
                        {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"},
                        "<s> $A")
    if family == "gemma3":
        return Specials(("<pad>", "<eos>", "<bos>", "<unk>"),
                        {"unk_token": "<unk>", "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"},
                        "<bos> $A")
    if family in ("qwen2", "gpt2"):  # no BOS added: position 0 is the first content token
        return Specials(("<|endoftext|>",), {"eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>"}, "")
    if family == "bert":
        return Specials(("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"),
                        {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
                         "mask_token": "[MASK]"},
                        "[CLS] $A [SEP]")
    if family in ("roberta", "mpnet"):
        return Specials(("<s>", "<pad>", "</s>", "<unk>", "<mask>"),
                        {"bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
                         "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>"},
                        "<s> $A </s>")
    raise ValueError(f"unknown tiny family {family!r}; known: {', '.join(FAMILIES)}")


def build_tokenizer(family: str, vocab_size: int = 400):
    """Train a fast tokenizer for `family` on CORPUS (offline) and wrap it as a transformers tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = _specials(family)
    lines = CORPUS.splitlines()
    if family in ("bert", "mpnet"):
        tok = Tokenizer(models.WordPiece(unk_token=specials.roles["unk_token"]))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(specials.tokens))
        tok.train_from_iterator(lines, trainer)
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=list(specials.tokens),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
        tok.train_from_iterator(lines, trainer)
    steps = []
    if family not in ("bert", "mpnet"):
        steps.append(processors.ByteLevel(trim_offsets=True))
    if specials.single:
        names = [part for part in specials.single.split() if part != "$A"]
        steps.append(processors.TemplateProcessing(
            single=specials.single, special_tokens=[(name, tok.token_to_id(name)) for name in names]
        ))
    if steps:
        tok.post_processor = steps[0] if len(steps) == 1 else processors.Sequence(steps)
    return PreTrainedTokenizerFast(tokenizer_object=tok, clean_up_tokenization_spaces=False, **specials.roles)


def _config(family: str, tokenizer) -> object:
    import transformers

    ids = {
        "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        "bos_token_id": tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id,
        "eos_token_id": tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id,
    }
    common = {"vocab_size": len(tokenizer), "hidden_size": HIDDEN, "num_hidden_layers": LAYERS,
              "num_attention_heads": HEADS, "intermediate_size": INTERMEDIATE, **ids}
    decoder = {**common, "num_key_value_heads": KV_HEADS, "max_position_embeddings": MAX_POSITIONS}
    if family == "llama":
        return transformers.LlamaConfig(**decoder, tie_word_embeddings=False)
    if family == "gemma3":
        return transformers.Gemma3TextConfig(**decoder, head_dim=HIDDEN // HEADS, query_pre_attn_scalar=HIDDEN // HEADS,
                                             sliding_window=16)
    if family == "qwen2":
        return transformers.Qwen2Config(**decoder, tie_word_embeddings=True)
    if family == "mistral":
        return transformers.MistralConfig(**decoder, sliding_window=None)
    if family == "phi3":
        return transformers.Phi3Config(**decoder)
    if family == "gpt2":
        return transformers.GPT2Config(vocab_size=len(tokenizer), n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS,
                                       n_inner=INTERMEDIATE, n_positions=MAX_POSITIONS, **ids)
    if family == "bert":
        return transformers.BertConfig(**common, max_position_embeddings=MAX_POSITIONS)
    if family in ("roberta", "mpnet"):  # positions are offset by padding_idx + 1
        cls = transformers.RobertaConfig if family == "roberta" else transformers.MPNetConfig
        return cls(**common, max_position_embeddings=MAX_POSITIONS + tokenizer.pad_token_id + 1)
    raise ValueError(f"unknown tiny family {family!r}")


def build_tiny_model(family: str, root: Path, seed: int = 0) -> Path:
    """Write a tiny seeded `family` model plus its tokenizer under root/<family>; return the directory."""
    import torch
    import transformers

    target = Path(root) / family
    tokenizer = build_tokenizer(family)
    config = _config(family, tokenizer)
    torch.manual_seed(seed)
    auto = transformers.AutoModelForCausalLM if family in CAUSAL_FAMILIES else transformers.AutoModel
    model = auto.from_config(config, dtype=torch.float32).eval()
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target
