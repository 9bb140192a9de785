"""Pipeline routes."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.access import permit
from api.commands import Run
from api.deps import ServicesDep
from api.problems import Problem
from api.reads import Page, PagingDep, PipelinePublic
from api.schemas import CommandAccepted
from commands.pipeline import AddStage, CreatePipeline, RenameStage, ReorderStages, SetStageProbability
from domain.pipeline import Stage

router = APIRouter(prefix="/v1/pipelines", tags=["pipelines"])


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="won and lost are implied")
    name: str = Field(min_length=1, max_length=100)
    probability: float = Field(ge=0, le=1, description="win probability of a deal in this stage")

    def to_stage(self) -> Stage:
        return Stage(self.key, self.name, self.probability)


class PipelineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    stages: list[StageIn] = Field(min_length=1, max_length=50, description="in order; won and lost are implied")


class StageAdd(StageIn):
    position: int | None = Field(None, ge=0, description="default: after the last stage")


class StageRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


class StageProbability(BaseModel):
    model_config = ConfigDict(extra="forbid")

    probability: float = Field(ge=0, le=1)


class StageOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[str] = Field(min_length=1, max_length=50)


class PipelineAccepted(CommandAccepted):
    stages: list[str]


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=PipelineAccepted, dependencies=[permit("pipelines:write")]
)
def create_pipeline(
    body: PipelineCreate,
    run: Run,
) -> dict[str, object]:
    command = CreatePipeline(body.name, tuple(s.to_stage() for s in body.stages))
    return run.created(command, "/v1/pipelines")


@router.post("/{pipeline_id}/stages", response_model=PipelineAccepted, dependencies=[permit("pipelines:write")])
def add_stage(
    pipeline_id: UUID,
    body: StageAdd,
    run: Run,
) -> dict[str, object]:
    return run(AddStage(pipeline_id, body.to_stage(), body.position))


@router.put(
    "/{pipeline_id}/stages/{stage_key}/name", response_model=PipelineAccepted, dependencies=[permit("pipelines:write")]
)
def rename_stage(
    pipeline_id: UUID,
    stage_key: str,
    body: StageRename,
    run: Run,
) -> dict[str, object]:
    return run(RenameStage(pipeline_id, stage_key, body.name))


@router.put(
    "/{pipeline_id}/stages/{stage_key}/probability",
    response_model=PipelineAccepted,
    dependencies=[permit("pipelines:write")],
)
def set_probability(
    pipeline_id: UUID,
    stage_key: str,
    body: StageProbability,
    run: Run,
) -> dict[str, object]:
    return run(SetStageProbability(pipeline_id, stage_key, body.probability))


@router.put("/{pipeline_id}/stages", response_model=PipelineAccepted, dependencies=[permit("pipelines:write")])
def reorder(
    pipeline_id: UUID,
    body: StageOrder,
    run: Run,
) -> dict[str, object]:
    return run(ReorderStages(pipeline_id, tuple(body.keys)))


@router.get("", response_model=Page[PipelinePublic], dependencies=[permit("pipelines:read")])
def list_pipelines(services: ServicesDep, paging: PagingDep) -> dict[str, object]:
    """Pipelines by name, each with its ordered stages."""
    return paging.answer(services.deal_queries.pipelines(paging.limit, paging.offset))


@router.get("/{pipeline_id}", response_model=PipelinePublic, dependencies=[permit("pipelines:read")])
def get_pipeline(pipeline_id: UUID, services: ServicesDep, response: Response) -> dict[str, object]:
    pipeline = services.deal_queries.pipeline(str(pipeline_id))
    if pipeline is None:
        raise Problem(404, "not_found", f"no pipeline {pipeline_id} in the read model")
    response.headers["ETag"] = f'"{pipeline["version"]}"'
    return pipeline
