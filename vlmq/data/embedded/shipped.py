"""The embedded sets vlmq ships, registered through its `vlmq.datasets` entry point.

Another package adds a set the same way: a module that calls `EMBEDDED.add(name,
EmbeddedSet(...))`, named under `[project.entry-points."vlmq.datasets"]`.
"""

from __future__ import annotations

from vlmq.data.embedded import EMBEDDED, EmbeddedSet, builders

for _embedded in (
    EmbeddedSet(
        name="coco-scenes",
        version=builders.SCENES_VERSION,
        layout="lmms-lab/COCO-Caption2017",
        description="generated shape scenes, 5 differently phrased reference captions each",
        build=builders.build_scenes,
    ),
    EmbeddedSet(
        name="text-signs",
        version=builders.SIGNS_VERSION,
        layout="lmms-lab/textvqa",
        description="generated words on signs, labels and screens, 10 crowd-like answers each",
        build=builders.build_signs,
    ),
    EmbeddedSet(
        name="easy-vqa",
        version=builders.EASY_VQA_VERSION,
        layout="VQAv2 (single answer)",
        description="the easy-vqa package's shape images and questions (real public data)",
        build=builders.build_easy_vqa,
    ),
    EmbeddedSet(
        name="fashion-mnist",
        version=builders.FASHION_VERSION,
        layout="image/label with a ClassLabel",
        description="Fashion-MNIST from Debian's dataset-fashion-mnist package",
        build=builders.build_fashion,
    ),
):
    EMBEDDED.add(_embedded.name, _embedded)
