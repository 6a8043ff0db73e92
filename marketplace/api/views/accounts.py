"""View of the caller's AMEM account (``/api/v1/accounts/me/``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from marketplace.api import serializers as s
from marketplace.api.views.common import _errors
from marketplace.catalog import ledger


class AccountViewSet(viewsets.GenericViewSet):
    """The caller's account."""

    serializer_class = s.AccountSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(summary="Your AMEM balance and recent ledger entries", tags=["accounts"],
                   responses={200: s.AccountSerializer, **_errors(401)})
    @action(detail=False, methods=["get"])
    def me(self, request):
        account = ledger.get_account(request.user)
        return Response(self.get_serializer(account).data)

