"""Persona tasks: the request rules, the status flow and persona data checks (pure).

The parts: :mod:`~castsmith.domain.personas.flow` (task and persona statuses, the
transitions, how a task ends, progress steps), :mod:`~castsmith.domain.personas.request`
(a create-task request and its limits), :mod:`~castsmith.domain.personas.data` (one
persona as the text provider describes it, checked) and
:mod:`~castsmith.domain.personas.prompts` (what the providers are asked). Import the
names from here.
"""

from __future__ import annotations

from castsmith.domain.personas.data import (
    IMAGE_PROMPT_SCHEMA,
    PERSONA_BATCH_SCHEMA,
    PERSONA_FIELDS,
    PERSONA_ITEM_SCHEMA,
    PersonaData,
    image_prompt_from_reply,
    personas_from_reply,
    validate_persona,
)
from castsmith.domain.personas.flow import (
    COMPLETED,
    COMPLETED_WITH_ERRORS,
    DATA_GENERATED,
    FAILED,
    FINISHED_STATUSES,
    GENERATING_DATA,
    GENERATING_IMAGES,
    PENDING,
    RESULT_COMPLETED,
    RESULT_FAILED,
    RESULT_GENERATING,
    RESULT_PENDING,
    RESULT_STATUSES,
    STEPS,
    TASK_STATUSES,
    TRANSITIONS,
    batch_sizes,
    can_transition,
    check_transition,
    error_entry,
    final_status,
    step_message,
    step_percent,
)
from castsmith.domain.personas.prompts import (
    grid_prompt,
    image_prompt_request,
    persona_data_prompt,
)
from castsmith.domain.personas.request import (
    GENDERS,
    IMAGES_PER_PERSONA,
    MAX_AGE,
    MAX_BIO,
    MAX_COUNT,
    MAX_TEXT,
    MIN_AGE,
    MIN_COUNT,
    TaskRequest,
    normalize_gender,
    validate_constraints,
    validate_locale,
    validate_request,
)

__all__ = [
    "COMPLETED",
    "COMPLETED_WITH_ERRORS",
    "DATA_GENERATED",
    "FAILED",
    "FINISHED_STATUSES",
    "GENDERS",
    "GENERATING_DATA",
    "GENERATING_IMAGES",
    "IMAGES_PER_PERSONA",
    "IMAGE_PROMPT_SCHEMA",
    "MAX_AGE",
    "MAX_BIO",
    "MAX_COUNT",
    "MAX_TEXT",
    "MIN_AGE",
    "MIN_COUNT",
    "PENDING",
    "PERSONA_BATCH_SCHEMA",
    "PERSONA_FIELDS",
    "PERSONA_ITEM_SCHEMA",
    "RESULT_COMPLETED",
    "RESULT_FAILED",
    "RESULT_GENERATING",
    "RESULT_PENDING",
    "RESULT_STATUSES",
    "STEPS",
    "TASK_STATUSES",
    "TRANSITIONS",
    "PersonaData",
    "TaskRequest",
    "batch_sizes",
    "can_transition",
    "check_transition",
    "error_entry",
    "final_status",
    "grid_prompt",
    "image_prompt_from_reply",
    "image_prompt_request",
    "normalize_gender",
    "persona_data_prompt",
    "personas_from_reply",
    "step_message",
    "step_percent",
    "validate_constraints",
    "validate_locale",
    "validate_persona",
    "validate_request",
]
