"""workbench-tiny-sd's build: light imports, where it goes, what the folder holds."""

from __future__ import annotations

import json

import pytest

from workbench.builtin import tiny_sd, tiny_sd_data as data


def test_import_is_light(heavy_modules_after):
    assert heavy_modules_after(
        "import workbench.builtin.tiny_sd, workbench.builtin.tiny_sd_train, workbench.models.images.diffusers_images, "
        "workbench.models.images.gemini_images, workbench.tools.image_tool",
        ("torch", "diffusers", "transformers", "PIL", "numpy", "google.genai")) == []


def test_the_folder_is_versioned_under_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path))
    root = tiny_sd.tiny_sd_root()
    assert root.parent == tmp_path / "tiny" and root.name.startswith("workbench-tiny-sd-")


@pytest.mark.slow
def test_the_built_pipeline_is_a_plain_diffusers_folder():
    folder = tiny_sd.tiny_sd_dir()
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline"
    assert index["scheduler"] == ["diffusers", "DDIMScheduler"] and index["safety_checker"] == [None, None]
    preview = json.loads((folder / "workbench_preview.json").read_text())
    assert len(preview["latent_rgb"]) == 4 and all(len(row) == 3 for row in preview["latent_rgb"])
    assert (folder / "tokenizer" / "vocab.json").is_file() and (folder / "tokenizer" / "merges.txt").is_file()
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(folder))        # any diffusers user can load it
    ids = pipe.tokenizer("a green circle").input_ids
    assert pipe.tokenizer.convert_ids_to_tokens(ids)[1:4] == ["a</w>", "green</w>", "circle</w>"]
    assert pipe.vae.config.scaling_factor == pytest.approx(preview["scaling_factor"])
    assert sum(p.numel() for p in pipe.unet.parameters()) < 1_000_000
    assert len(data.captions()) == len(data.COLOURS) * len(data.SHAPES) * len(data.TEMPLATES)
