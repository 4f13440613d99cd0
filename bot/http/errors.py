"""The JSON error every API endpoint answers with: `{"error": {"code", "message", ...}}`
(the app's exception handler turns an ApiError into that response)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> JSONResponse:
        error = {"code": self.code, "message": self.message, **self.extra}
        return JSONResponse({"error": error}, status_code=self.status)
