"""The two ways localcloud adds CloudFormation behaviour that moto lacks.

- `LocalModel` is the base of every resource type localcloud models itself (moto has none):
  it answers moto's model protocol (type, physical id, attributes, create/update/delete from
  the template) so that a subclass only says what creating, updating and deleting does.
- `hook` wraps a model moto has (a bucket, a function, a role) with steps before or after
  moto's own create and update, for the properties moto ignores or checks it skips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

Properties = dict[str, Any]


@dataclass(frozen=True)
class Spec:
    """One resource of a template as CloudFormation hands it to its handler."""

    name: str  # the physical name moto chose (or the template's NAME_PROPERTY)
    properties: Properties
    account_id: str
    region: str
    type: str


class LocalModel:
    """A CloudFormation resource type localcloud creates (moto has no model for it).

    A mixin: moto finds models among CloudFormationModel's direct subclasses only, so every
    concrete class lists `CloudFormationModel` after this base. A subclass sets `TYPE` (and
    `NAME_PROPERTY` when the template may name the resource), implements `create`, and
    overrides `update` (default: delete, then create again, as a replacement) and `delete`
    (default: nothing to undo). `Ref` is `physical_id` (what the base is made with);
    `ATTRIBUTES` lists the `GetAtt` names, each answered by `attribute`.
    """

    TYPE: ClassVar[str] = ""
    NAME_PROPERTY: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()

    physical_id: str

    def __init__(self, physical_id: str) -> None:
        self.physical_id = physical_id

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.attribute(attribute_name)

    def attribute(self, name: str) -> str:
        return self.physical_id

    @classmethod
    def create(cls, spec: Spec) -> Self:
        raise NotImplementedError(cls.TYPE)

    def update(self, spec: Spec) -> Self:
        self.delete(spec.account_id, spec.region)
        return type(self).create(spec)

    def delete(self, account_id: str, region_name: str) -> None:
        return None

    # moto's side of the protocol, in the signatures moto calls.
    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        return cls.create(_spec(cls, resource_name, cloudformation_json, account_id, region_name))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        spec = _spec(cls, new_resource_name, cloudformation_json, account_id, region_name)
        return original_resource.update(spec)


def _spec(
    model: type[LocalModel], name: str, template: dict[str, Any], account_id: str, region: str
) -> Spec:
    properties = dict(template.get("Properties") or {})
    return Spec(name, properties, account_id, region, str(template.get("Type", model.TYPE)))


BeforeCreate = Callable[[str, Properties, str, str], None]
"""(resource name, properties, account, region): may refuse by raising, before anything exists."""
BeforeUpdate = Callable[[Any, Properties], None]
"""(the current resource, the new properties): may adjust the properties moto reads."""
After = Callable[[Any, Properties], None]
"""(the resource moto created or updated, its properties): applies what moto ignored."""


def hook(
    model: type[Any],
    *,
    before_create: BeforeCreate | None = None,
    after_create: After | None = None,
    before_update: BeforeUpdate | None = None,
    after_update: After | None = None,
) -> None:
    """Wrap `model`'s create/update from CloudFormation with the given steps.

    Hooks stack: a later `hook` on the same model wraps the earlier one, so patches keep the
    order they are applied in (localcloud.patches.PATCHES).
    """
    original_create = model.create_from_cloudformation_json.__func__
    original_update = model.update_from_cloudformation_json.__func__

    def create(
        cls: type[Any],
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        if before_create is not None:
            before_create(resource_name, properties, account_id, region_name)
        resource = original_create(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        if after_create is not None:
            after_create(resource, properties)
        return resource

    def update(
        cls: type[Any],
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        if before_update is not None:
            before_update(original_resource, properties)
        resource = original_update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        if after_update is not None:
            after_update(resource, properties)
        return resource

    if before_create is not None or after_create is not None:
        model.create_from_cloudformation_json = classmethod(create)  # type: ignore[arg-type]
    if before_update is not None or after_update is not None:
        model.update_from_cloudformation_json = classmethod(update)
