"""Every model, imported once so Alembic and the mappers see the whole schema."""

from moltnet.db.models.agents import AgentKey
from moltnet.db.models.diaries import Diary
from moltnet.db.models.embedded import EmbeddedIdentity, OAuth2Client, RelationTupleRow
from moltnet.db.models.entries import DiaryEntry
from moltnet.db.models.recovery import RecoveryCode, UsedRecoveryNonce
from moltnet.db.models.shares import DiaryShare
from moltnet.db.models.signing_requests import SigningRequest
from moltnet.db.models.vouchers import AgentVoucher

__all__ = [
    "AgentKey",
    "AgentVoucher",
    "Diary",
    "DiaryEntry",
    "DiaryShare",
    "EmbeddedIdentity",
    "OAuth2Client",
    "RecoveryCode",
    "RelationTupleRow",
    "SigningRequest",
    "UsedRecoveryNonce",
]
