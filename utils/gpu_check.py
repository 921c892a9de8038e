"""``make gpu-check``: does the book run on this GPU as it promises? One script, at most eight minutes.

1. Environment (torch, CUDA, the GPU and its memory) and measured matmul peaks in fp32, TF32 and bf16.
2. Every notebook in a smoke run on the device (the gpu profile's shapes, a handful of steps): passed or
   not, its seconds, and from its smoke record the projected minutes of the gpu profile's full run
   (:func:`utils.record.project_full_run`). They run last, in what is left of the time budget, and build in
   ``_build/gpu-check`` (records in ``_build/gpu-check/records/smoke``), apart from ``make smoke``'s.
3. Targeted checks: the digit GAN's FD-digits on the CPU and on CUDA, TF32 off and on (the tolerance chapter 8
   needs to compare its leaderboard with chapters 4b and 6), guidance against the formula by hand (chapter
   9b's tolerance), ``torchrun`` with 1 and 2 processes, the training loop's device guard.
4. A summary. ``_build/gpu-check.json`` is rewritten after every part, so a run cut short leaves what it
   found; a failed part is recorded and the run goes on (the exit status is then 1).

Without CUDA, or with ``--cpu-dry-run``, the same code runs reduced on the CPU (the CUDA halves are skipped,
saying so, and no notebook runs unless ``--notebooks`` names some)::

    python -m utils.gpu_check [--cpu-dry-run] [--budget SECONDS] [--notebooks all | 02_tokenization ...]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from unittest import mock

import torch

from .device import environment
from .paths import ROOT, build_dir, show
from .validate import check_callable, check_int, check_number, describe

LIMIT_MINUTES = 5.0  # the full gpu profile of one notebook should take at most this on one current GPU
NOTEBOOK_TIMEOUT, MIN_NOTEBOOK_SECONDS = 150, 20  # one smoke run's limit; less budget left than this: skip
# The tolerances the chapters assert (keep in step with them): 9b, guided() against the formula by hand, relative
# to the largest output; 8, its leaderboard against chapters 4b and 6 on CUDA (relative). This run calibrates them.
GUIDED_RTOL, CHAPTER_8_RTOL = 1e-2, 1e-3
SMOKE_ENV = {"GENAI_PROFILE": "gpu", "GENAI_SMOKE": "1", "TQDM_DISABLE": "1",
             "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


@contextlib.contextmanager
def tf32(enabled: bool | None):
    """TensorFloat-32 matrix products and convolutions on or off inside the block (None: as they are)."""
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(f"enabled must be True, False or None (leave as it is), got {enabled!r}")
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    if enabled is not None:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def profile(name: str):
    """``GENAI_PROFILE=name`` inside a ``with`` block: the profile's device is where the checked code must run."""
    if name not in ("cpu", "gpu"):
        raise ValueError(f"name must be 'cpu' or 'gpu' (a profile), got {name!r}")
    return mock.patch.dict(os.environ, {"GENAI_PROFILE": name})


def soft(fn, *args, **kwargs) -> dict:
    """``fn(*args, **kwargs)``, a dict with ``"ok"``, plus its ``"seconds"``; an error becomes ``ok: False``."""
    check_callable(fn, "fn", "a function that returns a dict with 'ok'")
    start = time.perf_counter()
    try:
        result = fn(*args, **kwargs)
    except Exception as error:  # a failed part is reported, and the run goes on
        result = {"ok": False, "error": f"{type(error).__name__}: {error}",
                  "trace": traceback.format_exc(limit=-4)[-3000:]}
    result["seconds"] = round(time.perf_counter() - start, 2)
    return result


def run_quietly(command: list[str], timeout: float, env: dict | None = None) -> tuple[int, str]:
    """Run ``command`` in the repository; ``(exit status, output)``. Past ``timeout`` its process group
    (torchrun's workers, say) is killed and the status is 124; a notebook's kernel exits when its parent does."""
    if isinstance(command, str) or not isinstance(command, (list, tuple)) or not command:
        raise TypeError(f"command must be a non-empty list of strings (the program and its arguments), got "
                        f"{describe(command)}")
    check_number(timeout, "timeout", 0.0, low_open=True)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, code = process.communicate()[0] + f"\n(stopped after {timeout:g} s)", 124
    return code, re.sub(r"\x1b\[[0-9;]*m", "", output)  # no terminal colours in the report


def _check_device(device) -> None:
    if not isinstance(device, torch.device):
        raise TypeError(f"device must be a torch.device, got {describe(device)}")


def check_environment(device: torch.device) -> dict:
    """torch and CUDA versions, the GPU's name and memory, and :func:`utils.device.environment`."""
    _check_device(device)
    info = {"ok": True, "python": sys.version.split()[0], "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "cpu_cores": os.cpu_count(), "environment": environment(device)}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1), gpus=torch.cuda.device_count(),
                    capability=f"{props.major}.{props.minor}")
    return info


def check_peaks(device: torch.device) -> dict:
    """Measured matrix-multiply TFLOP/s in each math mode (on a CPU, "tf32" is fp32 measured again)."""
    from .flops import MATH_MODES, matmul_peak_flops

    _check_device(device)
    tflops = {mode: soft(lambda m=mode: {"ok": True, "value": matmul_peak_flops(device, m, fresh=True) / 1e12})
              for mode in MATH_MODES}  # one failing mode (bf16 on an old GPU, say) leaves the others
    return {"ok": all(r["ok"] for r in tflops.values()),
            "tflops": {mode: round(r["value"], 3) if r["ok"] else r["error"] for mode, r in tflops.items()}}


def check_gan_fd(device: torch.device, steps: int = 300, samples: int = 1000, judge=None) -> dict:
    """FD-digits of the digit GAN (its gpu sizes; this profile's cached weights if there are any, else
    ``steps`` steps trained here) from one fixed noise, drawn and judged on the CPU, then on CUDA with
    TF32 off, on, and on again: how far one number moves between devices and runs."""
    _check_device(device)
    check_int(steps, "steps", 1)
    check_int(samples, "samples", 2)
    from .data import load_digits
    from .gan import DIGIT_GAN, ImageDiscriminator, train_gan
    from .judge import JUDGE, fd_digits, load_judge, train_judge

    sizes, cuda = dict(DIGIT_GAN.sizes["gpu"]), device.type == "cuda"
    generator, source = DIGIT_GAN.build(sizes).to(device), f"trained {steps} steps here"
    path = DIGIT_GAN.path if cuda else None  # a CPU dry run trains its own, a few steps
    saved = torch.load(path, map_location=device, weights_only=True) if path and path.exists() else None
    if saved is not None and saved.get("sizes") == sizes:
        generator.load_state_dict(saved["state"])
        source = "chapter 4b's cached weights"
    else:
        digits = load_digits().x_train * 2 - 1
        train_gan(generator, ImageDiscriminator(1, 8, sizes["width"]).to(device), digits, steps=steps,
                  batch=sizes["batch"], lr=sizes["lr"])
    if judge is None:
        judge = load_judge(device=device) if JUDGE.path.exists() else train_judge(steps=steps, progress=False,
                                                                                 device=device)
    z, real = torch.randn(samples, sizes["latent"], generator=torch.Generator().manual_seed(1)), load_digits().x_test

    def fd_on(where: torch.device, allow_tf32: bool | None):
        with tf32(allow_tf32), profile("cpu" if where.type == "cpu" else "gpu"), torch.no_grad():
            g, j = copy.deepcopy(generator).to(where).eval(), copy.deepcopy(judge).to(where).eval()
            images = ((g(z.to(where)) + 1) / 2).clamp(0, 1)
            return fd_digits(images, real, j), images.cpu()

    cpu_fd, cpu_images = fd_on(torch.device("cpu"), None)
    rows = {"cpu": {"fd": cpu_fd}}
    for name, allow in (("cuda_tf32_off", False), ("cuda_tf32_on", True), ("cuda_tf32_on_again", True)):
        if cuda:
            fd, images = fd_on(device, allow)
            rows[name] = {"fd": fd, "relative_to_cpu": abs(fd - cpu_fd) / cpu_fd,
                          "largest_pixel_difference": (images - cpu_images).abs().max().item()}
    result = {"ok": True, "generator": source, "samples": samples, "rows": rows, "chapter_8_rtol": CHAPTER_8_RTOL}
    if cuda:
        result["largest_relative_to_cpu"] = max(row["relative_to_cpu"] for row in list(rows.values())[1:])
        result["tf32_run_to_run"] = abs(rows["cuda_tf32_on_again"]["fd"] - rows["cuda_tf32_on"]["fd"]) / cpu_fd
    else:
        result["note"] = "no CUDA here: only the CPU's FD-digits"
    return result


def check_guided(device: torch.device, weight: float = 3.0, channels=None) -> dict:
    """Chapter 9b's check: ``guided(model, w, null)`` (one batched call) against ``(1 + w) eps(c) - w eps(null)``
    from two calls, for a fresh picture-predicting TextToImage (default: the gpu widths), TF32 on (then off)."""
    _check_device(device)
    check_number(weight, "weight", 0.0)
    from .diffusion import guided
    from .text_to_image import SIZES, TextToImage, as_denoiser, encode_captions, null_caption

    torch.manual_seed(0)
    model = as_denoiser(TextToImage(channels or SIZES["gpu"]["channels"]).to(device), "x0")
    x_t = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(0)).to(device)
    t = torch.full((4,), 60, device=device)
    ids = encode_captions(["a red ball above a blue box", "a green tree above a yellow house",
                           "a sunny beach with palm trees", "a blue box above a red ball"]).to(device)
    null = null_caption().to(device)
    differences = {}
    for name, allow in (("tf32_on", True), ("tf32_off", False)):
        with tf32(allow), torch.no_grad():
            by_hand = (1 + weight) * model(x_t, t, ids) - weight * model(x_t, t, null.expand(4, -1))
            differences[name] = (by_hand - guided(model, weight, null)(x_t, t, ids)).abs().max().item()
    largest = by_hand.abs().max().item()
    return {"ok": differences["tf32_on"] <= GUIDED_RTOL * largest, "max_abs_difference": differences,
            "largest_output": largest, "relative": {k: v / largest for k, v in differences.items()},
            "chapter_9b_rtol": GUIDED_RTOL}


def check_torchrun(processes: int, steps: int = 50, timeout: float = 120) -> dict:
    """``torchrun --standalone --nproc_per_node=K -m utils.launch tiny``: did it finish, on which device and
    backend (nccl with a GPU per process, else gloo on the CPU, saying so), and its final loss."""
    check_int(processes, "processes", 1)
    check_int(steps, "steps", 1)
    check_number(timeout, "timeout", 0.0, low_open=True)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run.json"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                   "-m", "utils.launch", "tiny", "--steps", str(steps), "--out", str(out)]
        env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONPATH": str(ROOT)}
        code, output = run_quietly(command, timeout, env)
        run = json.loads(out.read_text()) if out.exists() else {}
    device = run.get("device")
    result = {"ok": code == 0 and bool(run), "processes": processes, "device": device,
              "backend": device and ("nccl" if device.startswith("cuda") else "gloo"),
              "fell_back_to_gloo": "nccl needs one GPU per process" in output, "final_loss": run.get("final_loss")}
    return result if result["ok"] else {**result, "exit_status": code, "output_tail": output[-2000:]}


def check_device_guard(device: torch.device) -> dict:
    """``utils.train.train`` refuses a CPU model under the gpu profile, before any work, with a ValueError
    naming cuda. Without CUDA the profile is made to report cuda: the guard must act before any CUDA call."""
    _check_device(device)
    from . import device as device_module
    from .train import batch_sampler, train

    pretend = device.type != "cuda"
    get_batch = batch_sampler(torch.randn(8, 2), torch.randn(8, 1), batch_size=4)
    cuda = mock.patch.object(device_module, "get_device", lambda: torch.device("cuda"))
    with profile("gpu"), cuda if pretend else contextlib.nullcontext():
        try:
            train(torch.nn.Linear(2, 1), lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), get_batch, steps=2,
                  progress=False)
        except ValueError as error:
            return {"ok": "cuda" in str(error), "pretended_cuda": pretend, "message": str(error)}
    return {"ok": False, "pretended_cuda": pretend, "message": "train() accepted a CPU model under the gpu profile"}


def read_projection(record: Path) -> dict:
    """From a notebook's smoke record: its seconds, its training runs (how many matched a gpu-profile step
    count) and the projected minutes of the gpu profile's full run, flagged past ``LIMIT_MINUTES``."""
    if not isinstance(record, Path):
        raise TypeError(f"record must be a Path to a smoke record, got {describe(record)}")
    if not record.exists():
        return {"record": False}
    entry = json.loads(record.read_text())
    projection = entry.get("projection") or {}
    projected = projection.get("projected_seconds")
    return {"record": True, "record_seconds": entry.get("seconds"), "record_device": entry.get("device"),
            "training_runs": projection.get("training_runs"), "matched": projection.get("matched"),
            "projected_minutes": None if projected is None else round(projected / 60, 2),
            "over_limit": projected is not None and projected > LIMIT_MINUTES * 60}


def run_notebook(notebook: Path, timeout: float, build: Path) -> dict:
    """One notebook's smoke run on this machine (nbval, the gpu profile's shapes, a handful of steps):
    passed or not, its seconds, and what its smoke record projects for the full gpu profile."""
    for name, value in (("notebook", notebook), ("build", build)):
        if not isinstance(value, Path):
            raise TypeError(f"{name} must be a Path, got {describe(value)}")
    check_number(timeout, "timeout", 0.0, low_open=True)
    record = build / "records" / "smoke" / f"{notebook.stem}.json"
    record.unlink(missing_ok=True)
    env = {**os.environ, **SMOKE_ENV, "GENAI_BUILD_DIR": str(build), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-p", "tests.nbval_cache", "--nbval-lax", "--nbval-current-env", "-q",
               str(notebook)]
    start = time.perf_counter()
    code, output = run_quietly(command, timeout, env)
    row = {"notebook": notebook.stem, "passed": code == 0, "seconds": round(time.perf_counter() - start, 1),
           **read_projection(record)}
    return row if code == 0 else {**row, "exit_status": code, "output_tail": output[-3000:]}


def _shown(value) -> str:
    """A value as the tables show it: 3 significant digits, yes/no, '-' for none."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    return "-" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


def _check_rows(rows) -> None:
    if not isinstance(rows, (list, tuple)) or not all(isinstance(row, dict) for row in rows):
        kinds = sorted({type(r).__name__ for r in rows}) if isinstance(rows, (list, tuple)) else []
        raise TypeError(f"rows must be a list of dicts, got "
                        f"{describe(rows) if not kinds else 'a list of ' + ', '.join(kinds)}")


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """``rows`` as a plain-text table of ``columns`` (key, heading); a missing value shows as '-'."""
    _check_rows(rows)
    if not isinstance(columns, (list, tuple)) or not all(isinstance(c, tuple) and len(c) == 2 for c in columns):
        raise TypeError(f"columns must be a list of (key, heading) pairs, got {columns!r}")
    cells = [[heading for _, heading in columns]] + [[_shown(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip() for line in cells)


def notebook_table(rows: list[dict]) -> str:
    """Notebook, smoke pass, smoke seconds, training runs (matched), projected minutes of the full gpu profile,
    and a flag on any projected past ``LIMIT_MINUTES`` (or why a notebook was skipped)."""
    _check_rows(rows)
    flagged = [{**row, "flag": f"over {LIMIT_MINUTES:g} min" if row.get("over_limit") else row.get("note", "")}
               for row in rows]
    return table(flagged, [("notebook", "notebook"), ("passed", "smoke pass"), ("seconds", "smoke s"),
                           ("training_runs", "runs"), ("matched", "matched"), ("projected_minutes", "full gpu min"),
                           ("flag", "")])


def summarise(report: dict, seconds: float) -> dict:
    """What passed, what failed, what was skipped, which notebooks project past the limit, total seconds."""
    if not isinstance(report, dict):
        raise TypeError(f"report must be the dict main() builds, got {describe(report)}")
    missing = [key for key in ("environment", "peaks", "checks", "notebooks") if key not in report]
    if missing:
        raise ValueError(f"report lacks {missing}: it must be the dict main() builds")
    check_number(seconds, "seconds", 0.0)
    parts = {"environment": report["environment"], "peaks": report["peaks"], **report["checks"]}
    parts.update({row["notebook"]: {"ok": row["passed"] and row["record"]} for row in report["notebooks"]
                  if not row.get("skipped")})
    named = lambda key: [row["notebook"] for row in report["notebooks"] if row.get(key)]
    return {"passed": [name for name, part in parts.items() if part.get("ok")],
            "failed": [name for name, part in parts.items() if not part.get("ok")],
            "skipped": named("skipped"), "over_limit": named("over_limit"), "seconds": round(seconds, 1)}


def parse(argv=None) -> argparse.Namespace:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="python -m utils.gpu_check", description=__doc__.split("\n")[0])
    parser.add_argument("--cpu-dry-run", action="store_true", help="run reduced on the CPU even if CUDA is here")
    parser.add_argument("--budget", type=float, default=450.0, help="seconds for the whole run (default 7.5 minutes)")
    parser.add_argument("--notebooks", nargs="*", default=None,
                        help="'all' or notebook names to smoke-run (default: all on a GPU, none in a CPU dry run)")
    parser.add_argument("--skip-checks", action="store_true", help="no targeted checks: the budget goes to notebooks")
    parser.add_argument("--out", type=Path, default=None, help="the JSON report (default _build/gpu-check.json)")
    from .launch import _check_argv

    _check_argv(argv)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Run every part within the budget, print the tables, write the JSON report as it grows; return it."""
    args, start = parse(argv), time.perf_counter()
    dry = args.cpu_dry_run or not torch.cuda.is_available()
    device = torch.device("cpu" if dry else "cuda")
    os.environ["GENAI_PROFILE"] = "cpu" if dry else "gpu"  # this process checks the profile of its device
    os.environ.pop("GENAI_SMOKE", None)  # its own models are no smoke models; only the notebooks run smoke
    out = args.out or build_dir() / "gpu-check.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"mode": "cpu dry run" if dry else "gpu", "budget_seconds": args.budget, "started": time.ctime(),
              "environment": {}, "peaks": {}, "notebooks": [], "checks": {}, "summary": {}}
    save = lambda: out.write_text(json.dumps(report, indent=1, default=str) + "\n")

    print(f"gpu-check ({report['mode']}, budget {args.budget:.0f} s) on {device}")
    report["environment"], report["peaks"] = soft(check_environment, device), soft(check_peaks, device)
    env = report["environment"]
    print(f"torch {env.get('torch')}, CUDA {env.get('cuda')}, GPU {env.get('gpu', 'none')} "
          f"({env.get('gpu_memory_gib', '-')} GiB); measured matmul TFLOP/s {_shown(report['peaks'].get('tflops'))}")
    save()
    checks = {"gan_fd": lambda: check_gan_fd(device, steps=10 if dry else 300, samples=500 if dry else 1000),
              "guided": lambda: check_guided(device), "torchrun_1": lambda: check_torchrun(1),
              "torchrun_2": lambda: check_torchrun(2), "device_guard": lambda: check_device_guard(device)}
    for name, check in ({} if args.skip_checks else checks).items():
        report["checks"][name] = result = soft(check)
        print(f"{'ok  ' if result['ok'] else 'FAIL'} {name}: " + "; ".join(
            f"{key} {_shown(value)}" for key, value in result.items() if key not in ("ok", "trace", "output_tail")))
        save()
    chosen = args.notebooks if args.notebooks is not None else ([] if dry else ["all"])
    notebooks = [n for n in sorted((ROOT / "chapters").glob("*.ipynb")) if "all" in chosen or n.stem in chosen]
    for notebook in notebooks:
        left = args.budget - (time.perf_counter() - start)
        if left < MIN_NOTEBOOK_SECONDS:
            row = {"notebook": notebook.stem, "skipped": True, "note": "skipped: the time budget is spent"}
        else:
            row = run_notebook(notebook, min(NOTEBOOK_TIMEOUT, left), build_dir() / "gpu-check")
            print(f"{notebook.stem}: {'passed' if row['passed'] else 'FAILED'} in {row['seconds']:.0f} s, "
                  f"full gpu profile projected at {_shown(row.get('projected_minutes'))} min")
            print("".join(f"    {line}\n" for line in row.get("output_tail", "").strip().splitlines()[-4:]), end="")
        report["notebooks"].append(row)
        save()
    if report["notebooks"]:
        print("\n" + notebook_table(report["notebooks"]))
    report["summary"] = summary = summarise(report, time.perf_counter() - start)
    save()
    print(f"\npassed: {', '.join(summary['passed']) or '-'}\nfailed: {', '.join(summary['failed']) or '-'}")
    if summary["skipped"] or summary["over_limit"]:
        print(f"skipped: {summary['skipped']}; projected past {LIMIT_MINUTES:g} min: {summary['over_limit']}")
    print(f"{summary['seconds']:.0f} s in all; wrote {show(out)}")
    return report


if __name__ == "__main__":
    sys.exit(1 if main()["summary"]["failed"] else 0)
