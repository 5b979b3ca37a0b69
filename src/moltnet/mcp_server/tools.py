"""The tool framework: typed arguments, scope rules, one unit of work per call.

A tool is an async function ``(call, arguments) -> response model`` turned into a
``ToolSpec`` by ``@tool(...)``. Its input schema is the JSON schema of its arguments
model (snake_case names, the limits of API.md), its output schema that of the REST
response model it returns (camelCase, the same shapes). The dispatcher in
``server.py`` validates the arguments, authenticates, checks the scope exactly as the
REST route's ``Security`` alias does, and renders ``DomainError``s as tool errors.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from moltnet.lifespan import AppState
from moltnet.schemas.auth import AuthSubject
from moltnet.schemas.enums import Scope
from moltnet.services.authz import Authz


class Access(enum.Enum):
    public = "public"  # no token needed; credentials are ignored (REST "—")
    optional = "optional"  # anonymous allowed; a caller that authenticates needs the scope
    required = "required"  # a valid token with the scope


def _check_text(value: Any, path: str) -> None:
    """API.md §1.1: strings are valid Unicode without U+0000, wherever they sit."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path or 'a string'} must not contain U+0000")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{path or 'a string'} is not valid Unicode") from None
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{path}.{index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, f"{path}.{key}" if path else str(key))


class ToolArguments(BaseModel):
    """Arguments of a tool: snake_case, unknown names refused, strings checked for NUL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _clean_text(cls, data: Any) -> Any:
        _check_text(data, "")
        return data


class NoArguments(ToolArguments):
    pass


@dataclass(frozen=True)
class ToolCall:
    """One tool invocation: the app's resources and the authenticated caller."""

    tool: str
    state: AppState
    subject: AuthSubject | None
    version: str

    @property
    def caller(self) -> AuthSubject:
        """The caller of a tool whose access is ``required`` (checked by the dispatcher)."""
        if self.subject is None:  # the dispatcher never lets this happen
            raise RuntimeError(f"{self.tool} ran without an authenticated caller")
        return self.subject

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]:
        """The call's transaction: COMMIT on success, ROLLBACK on any error (STYLE.md rule 1)."""
        return self.state["sessionmaker"].begin()

    def authz(self, session: AsyncSession) -> Authz:
        return Authz(session, self.state["permissions"])


Handler = Callable[[ToolCall, Any], Awaitable[BaseModel]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    arguments: type[ToolArguments]
    output: type[BaseModel]
    access: Access
    scope: Scope | None
    read_only: bool
    destructive: bool
    handler: Handler

    def input_schema(self) -> dict[str, Any]:
        return self.arguments.model_json_schema()

    def output_schema(self) -> dict[str, Any]:
        return self.output.model_json_schema(mode="serialization", by_alias=True)


def tool(
    name: str,
    *,
    title: str,
    access: Access,
    scope: Scope | None = None,
    read_only: bool = False,
    destructive: bool = False,
) -> Callable[[Handler], ToolSpec]:
    """Declare a tool; its docstring is the description the model reads."""
    if (access is Access.public) != (scope is None):
        raise ValueError(f"{name}: public tools take no scope, the others need one")

    def declare(handler: Handler) -> ToolSpec:
        hints = get_type_hints(handler)
        arguments = hints["arguments"]
        output = hints["return"]
        if not (isinstance(arguments, type) and issubclass(arguments, ToolArguments)):
            raise TypeError(f"{name}: arguments must be a ToolArguments model")
        if not (isinstance(output, type) and issubclass(output, BaseModel)):
            raise TypeError(f"{name}: the return type must be a response model")
        description = " ".join((handler.__doc__ or "").split())
        if not description:
            raise ValueError(f"{name}: a tool needs a description")
        return ToolSpec(
            name=name,
            title=title,
            description=description,
            arguments=arguments,
            output=output,
            access=access,
            scope=scope,
            read_only=read_only,
            destructive=destructive,
            handler=handler,
        )

    return declare
