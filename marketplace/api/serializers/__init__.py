"""Serializers of the REST API: public ids on the wire, model names for architectures, AMEM as strings.

One module per concept; every public name of the former single module is re-exported here.
"""

from marketplace.api.serializers.accounts import AccountSerializer, LedgerEntrySerializer
from marketplace.api.serializers.architectures import ArchitectureDetailSerializer, ArchitectureSerializer
from marketplace.api.serializers.certificates import CertificateSerializer
from marketplace.api.serializers.common import AMEM_FIELD, ArchitectureNameField, StrictQuerySerializer
from marketplace.api.serializers.drift import DriftCheckRequestSerializer, DriftCheckSerializer
from marketplace.api.serializers.estimates import CompatibilityEstimateSerializer, CompatibilityQuerySerializer
from marketplace.api.serializers.jobs import AlignmentJobCreateSerializer, AlignmentJobSerializer
from marketplace.api.serializers.listings import (
    MAX_LISTING_DESCRIPTION,
    VectorListingCreateSerializer,
    VectorListingSerializer,
    VectorListingSummarySerializer,
)
from marketplace.api.serializers.matrices import MatrixRefSerializer, WMatrixSerializer, WMatrixUploadSerializer
from marketplace.api.serializers.multihop import (
    MultiHopEdgeSerializer,
    MultiHopGraphSerializer,
    MultiHopHopSerializer,
    MultiHopQuerySerializer,
    MultiHopResultSerializer,
)
from marketplace.api.serializers.plugins import PluginSerializer
from marketplace.api.serializers.purchases import MAX_IDEMPOTENCY_KEY, PurchaseCreateSerializer, PurchaseSerializer
from marketplace.api.serializers.support import (
    MeasuredCapabilitySerializer,
    MeasuredRunSerializer,
    MeasuredValueSerializer,
    SupportMatrixRowSerializer,
)

__all__ = [
    "AMEM_FIELD",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_LISTING_DESCRIPTION",
    "AccountSerializer",
    "AlignmentJobCreateSerializer",
    "AlignmentJobSerializer",
    "ArchitectureDetailSerializer",
    "ArchitectureNameField",
    "ArchitectureSerializer",
    "CertificateSerializer",
    "CompatibilityEstimateSerializer",
    "CompatibilityQuerySerializer",
    "DriftCheckRequestSerializer",
    "DriftCheckSerializer",
    "LedgerEntrySerializer",
    "MatrixRefSerializer",
    "MeasuredCapabilitySerializer",
    "MeasuredRunSerializer",
    "MeasuredValueSerializer",
    "MultiHopEdgeSerializer",
    "MultiHopGraphSerializer",
    "MultiHopHopSerializer",
    "MultiHopQuerySerializer",
    "MultiHopResultSerializer",
    "PluginSerializer",
    "PurchaseCreateSerializer",
    "PurchaseSerializer",
    "StrictQuerySerializer",
    "SupportMatrixRowSerializer",
    "VectorListingCreateSerializer",
    "VectorListingSerializer",
    "VectorListingSummarySerializer",
    "WMatrixSerializer",
    "WMatrixUploadSerializer",
]
