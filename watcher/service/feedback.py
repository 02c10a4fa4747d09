""" "Not a campaign" clicks, carried from the outbox to the detectors.

The buttons (the HTTP endpoint or Socket Mode) record each click in the outbox's SQLite file;
the service polls it for false alarms it has not applied and makes those playbooks' detectors
stricter (`CampaignDetector.mark_false_alarm`). Which row was applied last is kept on the
engine and checkpointed with the detectors, so a restart neither applies a click twice nor
misses one made while the service was down.
"""

from __future__ import annotations

import logging
import math

from responders.delivery.outbox import Outbox
from watcher.pipeline.engine import Engine

log = logging.getLogger("groundswell")

#: How often the running service looks for new clicks. A click only changes which later
#: surges page, so a few seconds late is as good as at once.
POLL_SECONDS = 5.0


def apply_false_alarms(engine: Engine, outbox: Outbox) -> int:
    """Apply the clicks stored since the last call; return how many campaigns were marked.

    With no checkpoint that knew of the outbox (a first run, or state from before this
    feature) the clicks already stored are history, judged against a detector this run does
    not have: counting starts from the newest row. Clicks wait while there is no event time
    yet to apply them at.
    """
    newest = outbox.last_feedback_id()
    if engine.false_alarms_applied is None or engine.false_alarms_applied > newest:
        # (beyond the newest row: the outbox file was replaced, so its row ids start again)
        engine.false_alarms_applied = newest
        return 0
    if engine.watermark == -math.inf:
        return 0
    marked = 0
    for alarm in outbox.false_alarms(engine.false_alarms_applied):
        strictness = engine.mark_false_alarm(alarm.playbook)
        if strictness is None:
            log.info("not a campaign: %s is no longer loaded; ignored", alarm.playbook)
        else:
            marked += 1
            log.info(
                "not a campaign: %s marked; playbook %s now needs %.2f× the significance",
                alarm.campaign_id,
                alarm.playbook,
                strictness,
            )
        engine.false_alarms_applied = alarm.id
    return marked
