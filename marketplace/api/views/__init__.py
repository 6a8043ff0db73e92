"""REST API views (``/api/v1/``): thin HTTP adapters over the catalog and alignment services.

One module per concept; every public name of the former single module is re-exported here.
"""

from marketplace.api.views.accounts import AccountViewSet
from marketplace.api.views.architectures import ArchitectureViewSet
from marketplace.api.views.certificates import CERTIFICATE_PAGE_CSP, CertificateViewSet
from marketplace.api.views.common import (
    DEFAULT_VECTOR_UPLOAD_MAX_BYTES,
    ERROR_RESPONSE,
    MULTIPART_OVERHEAD,
    PUBLIC_ID,
    FileDownloadNegotiation,
    vector_upload_max_bytes,
)
from marketplace.api.views.drift import DriftCheckViewSet
from marketplace.api.views.jobs import AlignmentJobViewSet
from marketplace.api.views.listings import ALIGNMENT_HINT, VectorListingViewSet
from marketplace.api.views.matrices import WMatrixViewSet
from marketplace.api.views.multihop import MultiHopViewSet
from marketplace.api.views.plugins import PluginViewSet
from marketplace.api.views.purchases import PurchaseViewSet
from marketplace.api.views.support import SupportMatrixViewSet

__all__ = [
    "ALIGNMENT_HINT",
    "CERTIFICATE_PAGE_CSP",
    "DEFAULT_VECTOR_UPLOAD_MAX_BYTES",
    "ERROR_RESPONSE",
    "MULTIPART_OVERHEAD",
    "PUBLIC_ID",
    "AccountViewSet",
    "AlignmentJobViewSet",
    "ArchitectureViewSet",
    "CertificateViewSet",
    "DriftCheckViewSet",
    "FileDownloadNegotiation",
    "MultiHopViewSet",
    "PluginViewSet",
    "PurchaseViewSet",
    "SupportMatrixViewSet",
    "VectorListingViewSet",
    "WMatrixViewSet",
    "vector_upload_max_bytes",
]
