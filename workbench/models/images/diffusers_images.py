"""DiffusersImageClient: in-process diffusers pipelines, shared through the kernel-wide weight cache.

    ic = wb.image_client("hf:workbench-tiny-sd")            # the built-in model, offline
    ic = wb.image_client("hf:/path/to/a/diffusers/folder")  # any folder with model_index.json
    ic = wb.image_client("hf:Org/Repo")                     # a pipeline in the local HF cache

The pipeline class is read from the folder's ``model_index.json``. The dtype follows the
device (float32 on the CPU, float16 on CUDA) unless ``dtype=`` says otherwise; on CUDA the
pipeline goes whole onto the GPU when its weights fit in free memory with room to spare,
else it runs with model CPU offload (``device="cuda"``, ``"cpu"`` or ``"offload"`` force one).

The cache key is the resolved folder, the pipeline class, the dtype, the variant and the
asked-for placement: a second client of the same pipeline gets the cached one. One call at
a time runs on a cached pipeline (its scheduler and call state are per instance): a call
waits for the one before it, at most ``$WORKBENCH_SLOT_TIMEOUT`` seconds (WaitTimeout).

A generation runs in a worker thread; its ``image_progress`` chunks count
``pipe.num_timesteps`` (an image-to-image call runs fewer than ``steps``). With
``preview_every=N`` every N-th step carries a preview: the predicted clean latents mapped
to RGB by a 4x3 (or Cx3) projection (``LatentPreview``), not a VAE decode. Closing the stream
sets the pipeline's interrupt flag and joins the thread; the lock is released.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from workbench.errors import ConfigurationError, MissingDependencyError, ProviderError, WaitTimeout, wait_limit
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.images.client import BaseImageClient, ImageRequest, progress
from workbench.models.images.spec import image_spec
from workbench.models.local.weights import CACHE, CacheEntry, Loaded

KIND = "diffusers"
SLOT_TIMEOUT_ENV = "WORKBENCH_SLOT_TIMEOUT"
DEFAULT_SLOT_WAIT_S = 3600.0
PLACEMENTS = ("auto", "cpu", "cuda", "offload")
HEADROOM = 1.3                 # weights x this must fit in free VRAM for the pipeline to go whole
PREVIEW_MAX = 256              # previews are at most this many pixels on the long side


# -- where the pipeline comes from ------------------------------------------------------------
def resolve_folder(model_id: str, local_files_only: bool = True, revision: str | None = None) -> Path:
    """The pipeline folder: the built-in model (built if missing), a folder, or a local HF cache snapshot."""
    from workbench.builtin.tiny_sd_data import TINY_SD_ID
    from workbench.models.local.hf import looks_like_path

    if model_id == TINY_SD_ID:
        from workbench.builtin.tiny_sd import tiny_sd_dir

        return tiny_sd_dir()
    if looks_like_path(model_id):
        path = Path(model_id).expanduser().resolve()
        if not (path / "model_index.json").is_file():
            what = "has no model_index.json" if path.is_dir() else "does not exist"
            raise ConfigurationError(
                f"hf:{model_id}: the folder {str(path)!r} {what}, so it is not a diffusers pipeline. Give a folder "
                "saved with pipeline.save_pretrained(), or a hub id like 'hf:Org/Repo' in your local HF cache.")
        return path
    if "/" not in model_id:
        raise ConfigurationError(
            f"Unknown image model 'hf:{model_id}': use the built-in 'hf:{TINY_SD_ID}', a folder "
            "('hf:/path/to/pipeline'), or a hub id 'hf:Org/Repo' that is in your local HF cache.")
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(model_id, revision=revision, local_files_only=local_files_only))
    except ImportError as exc:
        raise MissingDependencyError("huggingface_hub", "images") from exc
    except Exception as exc:  # LocalEntryNotFoundError, RepositoryNotFoundError, OSError ...
        raise ConfigurationError(
            f"hf:{model_id} is not in the local HF cache ({type(exc).__name__}). Nothing downloads by itself: "
            f"fetch it once with `huggingface-cli download {model_id}`, or pass local_files_only=False.") from None
    if not (folder / "model_index.json").is_file():
        raise ConfigurationError(f"hf:{model_id} is in the HF cache but has no model_index.json: it is not a "
                                 "diffusers pipeline (a text model goes to wb.client('hf:...')).")
    return folder


def pipeline_class_name(folder: Path) -> str:
    try:
        name = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))["_class_name"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"{folder / 'model_index.json'} does not name a pipeline class "
                                 f"(_class_name): {exc}") from None
    return str(name)


def _diffusers():
    try:
        import diffusers
    except ImportError as exc:
        raise MissingDependencyError("diffusers", "images") from exc
    return diffusers


def weights_bytes(folder: Path, variant: str | None) -> int:
    """The pipeline's weight files on disk (what it needs in memory, near enough)."""
    total = 0
    for f in folder.rglob("*"):
        if f.suffix not in (".safetensors", ".bin") or not f.is_file():
            continue
        if variant is None and len(f.name.split(".")) > 2:     # model.fp16.safetensors: another variant
            continue
        if variant is not None and f".{variant}." not in f.name:
            continue
        total += f.stat().st_size
    return total


def default_dtype(placement: str) -> str:
    return "float32" if placement == "cpu" else "float16"


def decide_placement(asked: str, folder: Path, variant: str | None) -> str:
    """"cpu", "cuda" or "offload" for the asked-for placement on this machine."""
    from workbench.models.local.memory import cuda_available

    if asked == "cpu" or (asked == "auto" and not cuda_available()):
        return "cpu"
    if asked in ("cuda", "offload"):
        if not cuda_available():
            raise ConfigurationError(f"device={asked!r} needs CUDA, and torch sees no GPU here: use device='cpu'.")
        return asked
    import torch

    free, _ = torch.cuda.mem_get_info()
    return "cuda" if weights_bytes(folder, variant) * HEADROOM <= free else "offload"


# -- what the cache holds ---------------------------------------------------------------------
@dataclass
class PipelineWeights:
    pipe: Any
    placement: str
    class_name: str
    preview: "LatentPreview | None" = None
    preview_fitted: bool = False
    img2img: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def device(self) -> str:
        return "cuda" if self.placement in ("cuda", "offload") else "cpu"


def load_pipeline(folder: Path, class_name: str, dtype: str, placement: str, variant: str | None,
                  load_kwargs: dict[str, Any]) -> Loaded:
    import torch

    diffusers = _diffusers()
    with _quiet_progress():
        cls = getattr(diffusers, class_name, None)
    if cls is None:
        raise ConfigurationError(f"{folder}: model_index.json names the pipeline {class_name}, which diffusers "
                                 f"{diffusers.__version__} does not have (a newer diffusers, or a custom pipeline).")
    try:
        with _quiet_progress():
            pipe = cls.from_pretrained(str(folder), dtype=getattr(torch, dtype), variant=variant,
                                       local_files_only=True, **load_kwargs)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{folder}: diffusers could not load this pipeline ({exc}).") from exc
    pipe.set_progress_bar_config(disable=True)
    if placement == "cuda":
        pipe.to("cuda")
    elif placement == "offload":
        pipe.enable_model_cpu_offload()
    weights = PipelineWeights(pipe, placement, class_name, preview=LatentPreview.from_folder(folder))
    weights.preview_fitted = weights.preview is not None
    return Loaded(weights, bytes_by_device=_sizes(weights), close=_close)


@contextlib.contextmanager
def _quiet_progress():
    """No "Loading pipeline components" / "Loading weights" bars in the notebook output (the
    load shows in the cache gauge), nor transformers' note that its image processors fall back
    to Pillow without torchvision (diffusers imports them for pipelines' feature extractors; the
    fallback is what a CPU install wants); the user's own settings come back afterwards."""
    import logging

    from diffusers.utils import logging as df_logging

    from workbench.models.local.hf import _quiet_progress as quiet_transformers

    was_on = df_logging.is_progress_bar_enabled()
    df_logging.disable_progress_bar()
    imports = logging.getLogger("transformers.utils.import_utils")
    level = imports.level
    imports.setLevel(logging.ERROR)
    try:
        with quiet_transformers():
            yield
    finally:
        imports.setLevel(level)
        if was_on:
            df_logging.enable_progress_bar()


def _sizes(weights: PipelineWeights) -> dict[str, int]:
    from workbench.models.local.memory import torch_bytes_by_device

    out: dict[str, int] = {}
    for part in weights.pipe.components.values():
        if hasattr(part, "parameters") and hasattr(part, "buffers"):
            for device, n in torch_bytes_by_device(part).items():
                out[device] = out.get(device, 0) + n
    return out


def _close(weights: PipelineWeights) -> None:
    """Offload hooks first (they hold the modules), then the modules themselves."""
    pipe = weights.pipe
    remove = getattr(pipe, "remove_all_hooks", None)
    if remove is not None:
        remove()
    if weights.placement == "cuda":
        pipe.to("cpu")
    for name in list(pipe.components):
        setattr(pipe, name, None)
    weights.pipe = weights.img2img = None


# -- previews -----------------------------------------------------------------------------------
@dataclass
class LatentPreview:
    """Latents (B, C, h, w) to RGB in 0..1 by one linear map: ``rgb = latent @ matrix + bias``."""

    matrix: list[list[float]]          # C rows of 3
    bias: list[float]
    scaling_factor: float = 1.0        # the latents in the loop are the VAE's times this

    @classmethod
    def from_folder(cls, folder: Path) -> "LatentPreview | None":
        spec = folder / "workbench_preview.json"
        if not spec.is_file():
            return None
        raw = json.loads(spec.read_text(encoding="utf-8"))
        return cls(raw["latent_rgb"], raw["bias"], float(raw.get("scaling_factor", 1.0)))

    @classmethod
    def fit(cls, vae: Any) -> "LatentPreview | None":
        """Fit the map on a few flat and graded pictures the VAE encodes (once per pipeline)."""
        import torch

        if vae is None or not hasattr(vae, "encode"):
            return None
        size = 64
        ramp = torch.linspace(0, 1, size)
        pictures = [torch.full((3, size, size), v) for v in (0.0, 0.5, 1.0)]
        pictures += [torch.stack([torch.full((size, size), float(c == i)) for i in range(3)]) for c in range(3)]
        pictures += [torch.stack([ramp[None, :].expand(size, size), ramp[:, None].expand(size, size),
                                  1 - ramp[None, :].expand(size, size)])]
        batch = torch.stack(pictures)
        param = next(vae.parameters())
        with torch.no_grad():
            out = vae.encode((batch * 2 - 1).to(param.device, param.dtype))
            latents = (out.latent_dist.mean if hasattr(out, "latent_dist") else out.latents).float().cpu()
        if latents.dim() != 4:
            return None
        scale = float(getattr(vae.config, "scaling_factor", 1.0) or 1.0)
        factor = size // latents.shape[-1]
        small = torch.nn.functional.avg_pool2d(batch, factor)
        x = (latents * scale).permute(0, 2, 3, 1).reshape(-1, latents.shape[1])
        x = torch.cat([x, torch.ones(x.shape[0], 1)], dim=1)
        y = small.permute(0, 2, 3, 1).reshape(-1, 3)
        solution = torch.linalg.lstsq(x, y).solution
        return cls(solution[:-1].tolist(), solution[-1].tolist(), scale)

    def png(self, latents: Any, size: tuple[int, int], index: int = 0) -> bytes | None:
        """A small PNG of image ``index`` of these latents (None when their shape does not fit)."""
        import torch
        from PIL import Image

        if latents is None or latents.dim() != 4 or latents.shape[1] != len(self.matrix):
            return None
        one = latents[index].detach().float().cpu().permute(1, 2, 0)               # h, w, C
        rgb = one @ torch.tensor(self.matrix) + torch.tensor(self.bias)
        pixels = (rgb.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        w, h = size
        scale = min(1.0, PREVIEW_MAX / max(w, h))
        image = Image.fromarray(pixels, "RGB").resize((max(1, int(w * scale)), max(1, int(h * scale))),
                                                      Image.BILINEAR)
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()


# -- the client ------------------------------------------------------------------------------
class DiffusersImageClient(BaseImageClient):
    provider = "hf"
    option_names = ("strength", "eta", "clip_skip")

    def __init__(self, model: str, *, dtype: Any = None, device: str = "auto", variant: str | None = None,
                 local_files_only: bool = True, revision: str | None = None,
                 load_kwargs: dict[str, Any] | None = None):
        from workbench.models.local.weights import normalize_value
        from workbench.models.strings import parse_model_string

        _, model_id = parse_model_string(model)
        if device not in PLACEMENTS:
            raise ConfigurationError(f"device= takes one of {', '.join(PLACEMENTS)}, got {device!r}.")
        _diffusers()
        folder = resolve_folder(model_id, local_files_only, revision)
        self.model_id, self.folder, self.variant = model_id, folder, variant
        self.class_name = pipeline_class_name(folder)
        self.asked_placement = device
        placement = decide_placement(device, folder, variant)
        self.dtype = normalize_value("dtype", dtype) if dtype is not None else default_dtype(placement)
        self._load_kwargs = dict(load_kwargs or {})
        self._placement = placement
        super().__init__(f"hf:{model_id}", image_spec("hf", model_id))
        self._entry = self._load()
        self._fit_spec()

    def _key_kwargs(self) -> dict[str, Any]:
        return {"pipeline": self.class_name, "dtype": self.dtype, "variant": self.variant,
                "placement": self.asked_placement, **self._load_kwargs}

    def _load(self) -> CacheEntry:
        folder, label = self.folder, self.model_id
        return CACHE.get_or_load(
            KIND, str(folder), self._key_kwargs(),
            lambda: _labelled(load_pipeline(folder, self.class_name, self.dtype, self._placement, self.variant,
                                            self._load_kwargs), label))

    def reload(self) -> None:
        """Load the pipeline again (through the cache) after a clear."""
        self._entry = self._load()

    @property
    def cache_entry(self) -> CacheEntry:
        return self._entry

    @property
    def placement(self) -> str:
        with self._entry.use() as weights:
            return weights.placement

    def _fit_spec(self) -> None:
        """What this pipeline takes, read off its __call__ and its UNet/VAE, over the catalog's guesses."""
        from dataclasses import replace

        with self._entry.use() as weights:
            pipe = weights.pipe
            params = call_params(type(pipe))
            size = self.spec.default_size or _native_size(pipe)     # the catalog's, else the UNet's
            self.spec = replace(self.spec, negative_prompt="negative_prompt" in params,
                                default_guidance=self.spec.default_guidance if "guidance_scale" in params else None,
                                seed="generator" in params, default_size=size)

    # -- one generation ----------------------------------------------------------------------
    def call_kwargs(self, request: ImageRequest, seed: int) -> dict[str, Any]:
        import torch

        kwargs: dict[str, Any] = {"prompt": request.prompt, "num_images_per_prompt": request.num_images,
                                  "num_inference_steps": request.steps, "output_type": "pil"}
        if request.guidance is not None:
            kwargs["guidance_scale"] = request.guidance
        if request.size is not None:
            kwargs["width"], kwargs["height"] = request.size
        if request.negative_prompt is not None:
            kwargs["negative_prompt"] = request.negative_prompt
        kwargs["generator"] = torch.Generator("cpu").manual_seed(seed)
        if request.reference_image is not None:
            from workbench.models.images.result import to_png
            from PIL import Image

            kwargs["image"] = Image.open(io.BytesIO(to_png(request.reference_image))).convert("RGB")
        for name in ("strength", "eta", "clip_skip"):
            if name in request.options:
                kwargs[name] = request.options[name]
        return kwargs

    def _pipeline_for(self, request: ImageRequest, weights: PipelineWeights):
        if request.reference_image is None:
            return weights.pipe
        if weights.img2img is None:
            diffusers = _diffusers()
            try:
                with _quiet_progress():
                    weights.img2img = diffusers.AutoPipelineForImage2Image.from_pipe(weights.pipe)
            except (ValueError, KeyError) as exc:
                raise ConfigurationError(f"{self.model_string} ({weights.class_name}) has no image-to-image "
                                         f"pipeline, so it takes no reference_image= ({exc}).") from None
            weights.img2img.set_progress_bar_config(disable=True)
        return weights.img2img

    def _chunks(self, request: ImageRequest) -> Iterator[StreamChunk]:
        """The generation's chunks. The pipeline's lock and the cache lease are taken here and
        handed to the worker thread, which lets go of them when the pipeline returns: a stream
        closed, dropped or left unread never holds the pipeline longer than its generation."""
        if "strength" in request.options and request.reference_image is None:
            raise ConfigurationError("strength= goes with reference_image= (how far to move from it).")
        seed = request.seed if request.seed is not None else secrets.randbelow(2 ** 31)
        lease = self._entry.use()
        weights = lease.__enter__()
        limit = wait_limit(SLOT_TIMEOUT_ENV, DEFAULT_SLOT_WAIT_S)
        if not weights.lock.acquire(timeout=limit):
            lease.__exit__(None, None, None)
            raise WaitTimeout(f"{self.model_string}: another generation has held this pipeline for over "
                              f"{limit:g} s. Let calls wait longer with ${SLOT_TIMEOUT_ENV} (seconds), or "
                              "load a second copy (another dtype or device).", setting=SLOT_TIMEOUT_ENV)

        def release() -> None:
            weights.lock.release()
            lease.__exit__(None, None, None)

        handed = threading.Event()     # set once the worker owns the lock and the lease
        try:
            yield from self._run(request, weights, seed, release, handed)
        finally:
            if not handed.is_set():
                release()

    def _run(self, request: ImageRequest, weights: PipelineWeights, seed: int, release, handed: threading.Event,
             ) -> Iterator[StreamChunk]:
        pipe = self._pipeline_for(request, weights)
        kwargs = self.call_kwargs(request, seed)
        every = request.preview_every
        if every and not weights.preview_fitted:
            weights.preview = _quiet_fit(pipe)
            weights.preview_fitted = True
        preview = weights.preview if every else None
        size = request.size or _native_size(pipe) or (512, 512)
        events: queue.Queue = queue.Queue()
        stop = threading.Event()
        timing = {"preview_s": 0.0}
        captured: dict[str, Any] = {}

        def on_step(pipeline, i, t, tensors):
            total = int(getattr(pipeline, "num_timesteps", 0) or request.steps or 0)
            step = i + 1
            image = None
            if preview is not None and (step % every == 0) and step < total:
                started = time.perf_counter()
                latents = captured.get("x0", tensors.get("latents"))
                image = preview.png(latents, size)
                timing["preview_s"] += time.perf_counter() - started
            for index in range(request.num_images):
                events.put(progress(step, total, index, image if index == 0 else None))
            if stop.is_set():
                pipeline._interrupt = True
            return tensors

        kwargs["callback_on_step_end"] = on_step
        kwargs["callback_on_step_end_tensor_inputs"] = ["latents"]
        params = call_params(type(pipe))
        if "callback_on_step_end" not in params:
            raise ConfigurationError(f"{self.model_string} ({type(pipe).__name__}) has no step callback "
                                     "(callback_on_step_end), so it cannot be streamed or stopped here.")
        kwargs = {k: v for k, v in kwargs.items() if k in params or k == "prompt"}
        scheduler = pipe.scheduler
        original_step = scheduler.step

        def step_keeping_x0(*args, **kw):
            out = original_step(*args, **kw)
            # return_dict=False (what pipelines pass): (prev_sample, pred_original_sample) where
            # the scheduler has one (DDIM, Euler...), else (prev_sample,): then the latents serve.
            x0 = out[1] if isinstance(out, tuple) and len(out) > 1 else getattr(out, "pred_original_sample", None)
            if x0 is not None:
                captured["x0"] = x0
            return out

        def work():
            started = time.perf_counter()
            try:
                if preview is not None:
                    scheduler.step = step_keeping_x0
                output = pipe(**kwargs)
                events.put(("done", output, time.perf_counter() - started, int(getattr(pipe, "num_timesteps", 0))))
            except BaseException as exc:  # handed to the consumer, raised there
                events.put(("error", exc))
            finally:
                if preview is not None:
                    del scheduler.step          # back to the class's method
                release()

        worker = threading.Thread(target=work, name=f"workbench-diffusers-{self.model_id}", daemon=True)
        handed.set()
        worker.start()
        try:
            while True:
                item = events.get()
                if isinstance(item, StreamChunk):
                    yield item
                    continue
                if item[0] == "error":
                    raise _mapped(item[1], self.model_string)
                _, output, generate_s, steps = item
                break
            from workbench.models.images.result import to_png

            images = list(getattr(output, "images", []) or [])
            if not images:
                raise ProviderError(f"{self.model_string} returned no image.", provider="hf")
            for index, image in enumerate(images):
                yield progress(steps, steps, index, to_png(image), final=True)
            timings = {"generate_s": generate_s}
            if preview is not None:
                timings["preview_s"] = timing["preview_s"]
            yield StreamChunk(Phase.DONE, {"model": self.model_string, "seed": seed, "steps": steps,
                                           "timings": timings, "usage": {"images": len(images), "steps": steps}})
        finally:
            stop.set()                               # the next step callback interrupts the pipeline
            if threading.current_thread() is not worker:
                worker.join()


@functools.lru_cache(maxsize=None)
def call_params(pipeline_class: type) -> frozenset[str]:
    """The names a pipeline's __call__ takes (read once per class)."""
    return frozenset(inspect.signature(pipeline_class.__call__).parameters)


def _labelled(loaded: Loaded, label: str) -> Loaded:
    loaded.label = label
    return loaded


def _native_size(pipe: Any) -> tuple[int, int] | None:
    unet = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    sample = getattr(getattr(unet, "config", None), "sample_size", None)
    factor = getattr(pipe, "vae_scale_factor", None) or 8
    if isinstance(sample, int):
        return sample * factor, sample * factor
    return None


def _quiet_fit(pipe: Any) -> LatentPreview | None:
    try:
        return LatentPreview.fit(getattr(pipe, "vae", None))
    except Exception:       # a VAE this fit does not understand: previews are left out, not the image
        return None


def _mapped(exc: BaseException, model: str) -> BaseException:
    """diffusers' own check of the size is the user's to fix; anything else stays what it is."""
    if isinstance(exc, ValueError) and "divisible by" in str(exc):
        error = ConfigurationError(f"{model}: {exc}")
        error.__cause__ = exc
        return error
    return exc
