"""Pipeline commands and their handlers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.results import CommandResult
from domain.meta import Meta
from domain.pipeline import Pipeline, Stage


@dataclass(frozen=True)
class CreatePipeline:
    name: str
    stages: Sequence[Stage]


@dataclass(frozen=True)
class AddStage:
    pipeline_id: UUID
    stage: Stage
    position: int | None = None


@dataclass(frozen=True)
class RenameStage:
    pipeline_id: UUID
    key: str
    name: str


@dataclass(frozen=True)
class SetStageProbability:
    pipeline_id: UUID
    key: str
    probability: float


@dataclass(frozen=True)
class ReorderStages:
    pipeline_id: UUID
    keys: Sequence[str]


def create(command: CreatePipeline, meta: Meta, uow: UnitOfWork) -> CommandResult:
    pipeline = Pipeline.create(name=command.name, stages=list(command.stages), meta=meta)
    return uow.save(pipeline, stages=pipeline.stage_keys)


def add_stage(command: AddStage, meta: Meta, uow: UnitOfWork) -> CommandResult:
    pipeline = uow.load(Pipeline, command.pipeline_id)
    pipeline.add_stage(command.stage, meta, command.position)
    return uow.save(pipeline, stages=pipeline.stage_keys)


def rename_stage(command: RenameStage, meta: Meta, uow: UnitOfWork) -> CommandResult:
    pipeline = uow.load(Pipeline, command.pipeline_id)
    pipeline.rename_stage(command.key, command.name, meta)
    return uow.save(pipeline, stages=pipeline.stage_keys)


def set_probability(command: SetStageProbability, meta: Meta, uow: UnitOfWork) -> CommandResult:
    pipeline = uow.load(Pipeline, command.pipeline_id)
    pipeline.set_probability(command.key, command.probability, meta)
    return uow.save(pipeline, stages=pipeline.stage_keys)


def reorder(command: ReorderStages, meta: Meta, uow: UnitOfWork) -> CommandResult:
    pipeline = uow.load(Pipeline, command.pipeline_id)
    pipeline.reorder(list(command.keys), meta)
    return uow.save(pipeline, stages=pipeline.stage_keys)


HANDLERS: dict[type, Handler] = {
    CreatePipeline: create,
    AddStage: add_stage,
    RenameStage: rename_stage,
    SetStageProbability: set_probability,
    ReorderStages: reorder,
}
