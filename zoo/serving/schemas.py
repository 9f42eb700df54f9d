"""The request bodies of the HTTP service, with their limits (pydantic models).

Integers are strict: `"7"`, `7.0` and `true` are not seeds; `truncation` is a
JSON number (`1` too), never a string or `true`. Unknown fields are
refused, so a typo (`"seeds"`) is a 422 naming it rather than a silent default.
`ALLOWED` tells, per field, what an error message should offer instead.
"""

from typing import Annotated, List, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

MAX_IMAGES = 256
MAX_STEPS = 64
MAX_SEED = 2**63 - 1

Seed = Annotated[StrictInt, Field(ge=0, le=MAX_SEED)]
Labels = Optional[Union[StrictInt, Annotated[List[StrictInt], Field(max_length=MAX_IMAGES)]]]
Truncation = Optional[Annotated[StrictFloat, Field(gt=0, le=1, allow_inf_nan=False)]]
TRUNCATION_HELP = (
    "The truncation trick: z is psi times the seed's standard-normal draw (computed in float64, then "
    "rounded to float32, as zoo.latent and the page do), psi in (0, 1]; left out or 1: no truncation."
)


class GenerateRequest(BaseModel):
    """Body of `POST /v1/generate`."""

    model_config = ConfigDict(extra="forbid")

    model: Optional[str] = Field(None, description="Model name; may be left out when one model is served.")
    n: StrictInt = Field(1, ge=1, le=MAX_IMAGES, description="Number of images.")
    seed: Optional[Seed] = Field(None, description="Latent seed; a random one (returned in X-Seed) if left out.")
    labels: Labels = Field(
        None,
        description="Conditional models: one class for all images or one per image; "
        "left out: classes 0, 1, 2, ... in turn. Unconditional models: leave out.",
    )
    truncation: Truncation = Field(None, description=TRUNCATION_HELP)
    format: Literal["png", "npy", "json"] = Field(
        "png", description="png: a grid image; npy: uint8 [n, H, W, C]; json: the same as lists."
    )


class InterpolateRequest(BaseModel):
    """Body of `POST /v1/interpolate`."""

    model_config = ConfigDict(extra="forbid")

    model: Optional[str] = Field(None, description="Model name; may be left out when one model is served.")
    seed_a: Seed = Field(..., description="Seed of the first frame.")
    seed_b: Seed = Field(..., description="Seed of the last frame.")
    steps: StrictInt = Field(8, ge=2, le=MAX_STEPS, description="Number of frames.")
    labels: Labels = Field(None, description="As in /v1/generate, for the frames.")
    method: Literal["slerp", "linear"] = Field("slerp", description="Path between the two latents.")
    truncation: Truncation = Field(None, description="As in /v1/generate, for both ends' latents.")
    format: Literal["png", "npy", "json"] = Field(
        "png", description="png: the frames side by side in one row without padding."
    )


ALLOWED = {
    "model": "the name of a served model (GET /v1/models)",
    "n": f"an integer in 1..{MAX_IMAGES}",
    "steps": f"an integer in 2..{MAX_STEPS}",
    "seed": f"an integer in 0..{MAX_SEED}, or null",
    "seed_a": f"an integer in 0..{MAX_SEED}",
    "seed_b": f"an integer in 0..{MAX_SEED}",
    "labels": "an integer class or a list of one per image",
    "format": "png, npy, json",
    "method": "slerp, linear",
    "truncation": "a number in (0, 1], or null (no truncation)",
    "body": "a JSON object",
}


FIELDS = {
    "/v1/generate": tuple(GenerateRequest.model_fields),
    "/v1/interpolate": tuple(InterpolateRequest.model_fields),
}


class ErrorDetail(BaseModel):
    """What went wrong with a request (`zoo.serving.http_errors`)."""

    status: int = Field(..., description="The HTTP status, repeated.")
    field: Optional[str] = Field(
        ..., description="The top-level body field at fault; \"body\" for the body as a whole; "
        "null when no field is (a wrong route or method, a slow or refused connection)."
    )
    loc: List[Union[str, int]] = Field(..., description="Path to the bad value, with list indices: [\"labels\", 3].")
    type: str = Field(..., description="A stable error code, e.g. less_than_equal, unknown_model, request_timeout.")
    message: str = Field(..., description="One line: what is wrong, what was received (cut to ~100 characters), "
                         "what is allowed.")


class ErrorResponse(BaseModel):
    """The body of every error response: `{"error": {...}}`."""

    error: ErrorDetail


ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    404: "Unknown model.",
    408: "The request did not arrive in time (header or body deadline, or the server was full and "
    "this connection had waited longest). The connection is closed.",
    413: "The body is over the size cap.",
    415: "The body is not application/json.",
    422: "A field has a bad value, or is unknown or missing; `field` and `loc` name it.",
    503: "Every connection slot is busy with a complete request. The connection is closed; retry.",
    "default": "Any other error, in the same body: 405 for a method the path does not take "
    "(its Allow header lists those it does), 500 never for user input.",
}


def error_responses(*statuses):
    """The `responses=` of a route that can answer `statuses` (and the `default` error)."""
    return {
        status: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[status]}
        for status in (*statuses, "default")
    }
