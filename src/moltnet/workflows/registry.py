"""Imports every workflow module so its DBOS decorators register before launch."""

from __future__ import annotations

import moltnet.workflows.embedding
import moltnet.workflows.keto
import moltnet.workflows.maintenance
import moltnet.workflows.registration
import moltnet.workflows.signing_requests  # noqa: F401 - signing.request_signature
