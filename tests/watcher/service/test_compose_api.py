"""What the service hands `/api/v1`: its outbox as records, limited to its playbooks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from responders.delivery.records import RecordError, SilenceRequest
from tests.responders.conftest import PLAYBOOK, alert
from watcher.service.compose import api_parts
from watcher.service.delivery import DeliveryConfig, build_delivery


async def test_the_api_works_on_the_service_outbox_and_knows_its_playbooks(
    tmp_path: Path,
) -> None:
    respond = PLAYBOOK.respond.model_copy(update={"channels": ("console",), "slack": None})
    config = DeliveryConfig(outbox=tmp_path / "outbox.sqlite3", console=io.StringIO())
    stack = build_delivery([PLAYBOOK.model_copy(update={"respond": respond})], config)
    try:
        records, redraw = api_parts(stack)
        await stack.dispatcher.send(alert())
        [campaign] = records.alerts()
        assert (campaign["campaign_id"], campaign["deliveries"]) == ("waste-1", {"sent": 1})
        request = {"duration": "1h", "reason": "launch", "created_by": "rosa"}
        made = records.add_silence(SilenceRequest(playbook="waste", **request))
        assert made["state"] == "active"
        with pytest.raises(RecordError, match=r"no playbook 'sewage' is loaded \(loaded: waste\)"):
            records.add_silence(SilenceRequest(playbook="sewage", **request))
        await redraw("waste-1")  # no Slack here: nothing to redraw, and no error
    finally:
        await stack.aclose()
