"""The maas-api commits the embedded maas-api can stand in for, and what sets them apart.

The manifests pin maas-api by image, `quay.io/opendatahub/maas-api:<full commit sha>` (upstream
pushes one for every commit to main), and the embedded maas-api answers as that commit does.
It knows only commits whose every endpoint it emulates: e38c15ed and a285d661, which differ
only in where `/v1/models` takes a model's `id` from. An older commit such as 77ae8d9e maps
MaaS tokens to tiers differently (its tier mapper adds `system:serviceaccount:<namespace>`, a
group no token has), so starting as it would hand out answers it never gave: a commit this
table does not know stops start-up instead.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

IMAGE_REPOSITORY = "quay.io/opendatahub/maas-api"


class ModelId(enum.Enum):
    """The field of an (LLM)InferenceService that `/v1/models` and `/models` list as its `id`."""

    NAME = "metadata.name"
    MODEL_NAME = "spec.model.name"  # falling back to metadata.name when unset or empty


@dataclass(frozen=True)
class MaasApiCommit:
    sha: str
    model_id: ModelId

    @property
    def short(self) -> str:
        return self.sha[:8]


KNOWN_COMMITS: Mapping[str, MaasApiCommit] = MappingProxyType(
    {
        commit.sha: commit
        for commit in (
            # 2025-10-10, docs/DEV.md replaces the README: the manifests' pin.
            MaasApiCommit("e38c15ede28fcf2bdac9d93224bcc3741f93c459", ModelId.NAME),
            # 2025-10-10, "expose the actual model name instead of the resource name" (#143).
            MaasApiCommit("a285d66124a8fd11c6f41e2dea4bc54c273b4e18", ModelId.MODEL_NAME),
        )
    }
)


class UnknownCommit(ValueError):
    """The image names no commit the embedded maas-api knows how to answer as."""


def is_maas_api_image(image: str) -> bool:
    """Whether `image` is of maas-api's repository, whatever its tag or digest."""
    return image == IMAGE_REPOSITORY or image.startswith(
        (IMAGE_REPOSITORY + ":", IMAGE_REPOSITORY + "@")
    )


def commit_of_image(image: str) -> MaasApiCommit:
    """The known commit that `<repository>:<full sha>` pins; UnknownCommit otherwise."""
    repository, _, tag = image.rpartition(":")
    if "@" in image or "/" in tag or repository != IMAGE_REPOSITORY:
        raise UnknownCommit(_unknown(image, f"it is not {IMAGE_REPOSITORY}:<full commit sha>"))
    commit = KNOWN_COMMITS.get(tag)
    if commit is None:
        raise UnknownCommit(_unknown(image, f"the embedded maas-api does not know commit {tag!r}"))
    return commit


def _unknown(image: str, why: str) -> str:
    known = ", ".join(commit.short for commit in KNOWN_COMMITS.values())
    return (
        f"maas-api image {image!r} cannot be run embedded: {why}. Pin one of the commits it "
        f"answers as ({known}) by full sha in the manifests (the `images` entry of "
        f"{IMAGE_REPOSITORY} in manifests/stack/maas-api/kustomization.yaml), or teach "
        "maas_local.maas_api.commits the new commit once the embedded maas-api does what it does"
    )
