"""The base of llmfailover's own response models (used when openai is not importable).

Mirrors ``openai.BaseModel``: unknown keys are kept (``extra="allow"``), ``to_dict()``/``to_json()``
dump with the API's names, and top-level results carry ``_request_id`` (the ``x-request-id``).
"""

from __future__ import annotations

import typing
from typing import Any, Literal, Optional

import pydantic

__all__ = ["BaseModel"]


class BaseModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    _request_id: Optional[str] = None

    @classmethod
    def construct(cls, _fields_set: Optional[set[str]] = None, **values: Any) -> Any:
        """Build without validation, nested models included (pydantic's ``model_construct`` is
        shallow). The fallback for responses that validation rejects, as in openai."""
        fields = cls.model_fields
        built = {k: _construct_value(fields[k].annotation, v) if k in fields else v for k, v in values.items()}
        return cls.model_construct(_fields_set, **built)

    def to_dict(
        self,
        *,
        mode: Literal["json", "python"] = "python",
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        warnings: bool = True,
    ) -> dict[str, Any]:
        """A dict of the model as the API sent it (unset fields left out by default)."""
        return self.model_dump(
            mode=mode,
            by_alias=use_api_names,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            warnings=warnings,
        )

    def to_json(
        self,
        *,
        indent: Optional[int] = 2,
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        warnings: bool = True,
    ) -> str:
        """JSON text of the model as the API sent it, indented by default."""
        return self.model_dump_json(
            indent=indent,
            by_alias=use_api_names,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            warnings=warnings,
        )


def _construct_value(annotation: Any, value: Any) -> Any:
    if isinstance(value, dict):
        for cls in _model_classes(annotation):
            return cls.construct(**value)
        return value
    if isinstance(value, list) and typing.get_origin(annotation) in (list, typing.List):
        (item,) = typing.get_args(annotation) or (Any,)
        return [_construct_value(item, v) for v in value]
    if isinstance(value, list):
        for arg in typing.get_args(annotation):
            if typing.get_origin(arg) in (list, typing.List):
                return _construct_value(arg, value)
    return value


def _model_classes(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
