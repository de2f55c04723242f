"""The OpenAI Videos API (what the `openai` SDK's `client.videos` calls) on Reelforge's
one queue: `POST /v1/videos`, `GET /v1/videos[/{id}[/content]]`, `DELETE /v1/videos/{id}`,
`POST /v1/videos/{id}/remix`, `POST /v1/videos/extensions` (and `/edits`, refused).

    routes.py    the routes: `writes` (new work) and `reads`
    mapping.py   model names, sizes and seconds -> Pixverse job params; a job -> a Video
    forms.py     the SDK's multipart (or JSON) bodies
    content.py   the mp4, the thumbnail and a spritesheet
    listing.py   cursor pages both ways, and delete
    errors.py    OpenAI's error body, on these routes only
    docs.py      their OpenAPI description

See docs/openai.md.
"""

from reelforge.openai_api.routes import reads, writes

__all__ = ["reads", "writes"]
