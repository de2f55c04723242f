"""Property: whatever JSON arrives, `validate` answers params or BadRequest, nothing else."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelforge import endpoints
from reelforge.errors import BadRequest

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "5",
            "8",
            "true",
            "fast",
            "1080p",
            "16:9",
            "auto",
            "https://e.com/a.png",
            "data:image/png;base64,AAAA",
            " 42 ",
            "1e3",
            "١٢",
        ]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = sorted(
    {name for slug in endpoints.SLUGS for name in endpoints.get(slug).params_model.model_fields}  # type: ignore[union-attr]
)
BODIES = JSON | st.dictionaries(st.sampled_from([*FIELDS, "foo"]), JSON, max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slug=st.sampled_from(endpoints.SLUGS), body=BODIES)
def test_validate_answers_params_or_bad_request(slug: str, body: Any) -> None:
    endpoint = endpoints.get(slug)
    assert endpoint is not None
    try:
        params = endpoint.validate(body)
    except BadRequest as error:
        assert error.message and len(error.message) < 1000
        return
    json.dumps(params, allow_nan=False)
    assert endpoint.validate(params) == params


@settings(max_examples=200, deadline=None)
@given(
    slug=st.sampled_from(endpoints.SLUGS),
    extra=st.dictionaries(st.sampled_from(FIELDS), SCALARS, max_size=6),
)
def test_valid_looking_bodies_validate_or_name_a_field(slug: str, extra: dict[str, Any]) -> None:
    endpoint = endpoints.get(slug)
    assert endpoint is not None
    body = {"prompt": "a cat", "video_url": "https://e.com/v.mp4", **extra}
    try:
        endpoint.validate(body)
    except BadRequest as error:
        named = error.message.split(":")[0]
        assert named in endpoint.params_model.model_fields or error.message.startswith("unknown")
