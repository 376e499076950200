"""Which maas-api the suite verifies, and what that commit promises.

maas-api changed under the same endpoints: from a285d661 (2025-10-10) `/v1/models` lists a
model's `spec.model.name` as its `id` (falling back to `metadata.name`), before that its
`metadata.name`; on 2026-03-29 `/v1/tokens` was removed. A floating image (`:latest`) would
make the verdict depend on the day of the pull, so the manifests pin one commit (upstream pushes
`quay.io/opendatahub/maas-api:<full commit sha>` for every commit to main) and the suite
expects what that commit does. A commit the suite does not know stops the run: its promises are
unknown, and guessing them would turn a real difference into a pass or a failure by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

IMAGE_REPOSITORY = "quay.io/opendatahub/maas-api"
# Where `/v1/models` takes a model's `id` from.
ID_FROM_NAME = "metadata.name"
ID_FROM_MODEL_NAME = "spec.model.name"


@dataclass(frozen=True)
class MaasApiCommit:
    """One upstream commit of opendatahub-io/models-as-a-service and the promises it keeps."""

    sha: str
    date: str  # commit date, UTC, for people reading reports
    summary: str
    model_id_from: str

    @property
    def short(self) -> str:
        return self.sha[:8]

    def __str__(self) -> str:
        return f"maas-api {self.short} ({self.date}: {self.summary})"


KNOWN_COMMITS: Mapping[str, MaasApiCommit] = MappingProxyType(
    {
        commit.sha: commit
        for commit in (
            MaasApiCommit(
                "77ae8d9e1ac48eb53866932d4d2a165590211097",
                "2025-09-29",
                "the DEV.md of the seed's manual checks",
                ID_FROM_NAME,
            ),
            MaasApiCommit(
                "e38c15ede28fcf2bdac9d93224bcc3741f93c459",
                "2025-10-10",
                "the seed's commit: docs/DEV.md replaces the README",
                ID_FROM_NAME,
            ),
            MaasApiCommit(
                "a285d66124a8fd11c6f41e2dea4bc54c273b4e18",
                "2025-10-10",
                "/v1/models lists spec.model.name as the id",
                ID_FROM_MODEL_NAME,
            ),
        )
    }
)


class UnknownMaasApi(ValueError):
    """The image names no commit whose promises the suite knows."""


def commit_of_image(image: str) -> MaasApiCommit:
    """The known commit an image reference pins (`<repository>:<full sha>`)."""
    repository, _, tag = image.rpartition(":")
    if "/" in tag or "@" in image or repository != IMAGE_REPOSITORY:
        raise UnknownMaasApi(_unknown(image, f"it is not {IMAGE_REPOSITORY}:<commit sha>"))
    commit = KNOWN_COMMITS.get(tag)
    if commit is None:
        raise UnknownMaasApi(_unknown(image, f"the suite does not know commit {tag!r}"))
    return commit


def _unknown(image: str, why: str) -> str:
    known = ", ".join(f"{c.short} ({c.date})" for c in KNOWN_COMMITS.values())
    return (
        f"maas-api image {image!r} cannot be verified: {why}. Pin one of the commits the suite "
        f"knows ({known}) as `{IMAGE_REPOSITORY}:<full sha>` (manifests/stack/maas-api/"
        "kustomization.yaml, `images`), or teach maas_e2e.maas_api_commits the new one"
    )
