import contextlib
import json
import os

import numpy as np
import PIL.Image
import pytest
from absl import app
from absl import flags

from tests.evaluation_test import tiny_tokenizer
from training import evaluate


@contextlib.contextmanager
def isolated_flags(define_flags):
    """Define a CLI's flags on the global `FLAGS` for one test.

    Other test modules define their CLI's flags (`--output_dir`, ...) at
    import; those are set aside meanwhile and restored afterwards, with
    their module registrations, so every CLI test can run in one process.
    """
    registry = flags.FLAGS
    was_parsed = registry.is_parsed()
    saved = {name: registry[name] for name in list(registry)}
    modules = {
        module: list(flag_list)
        for module, flag_list in registry.flags_by_module_dict().items()
    }
    key_modules = {
        module: list(flag_list)
        for module, flag_list in registry.key_flags_by_module_dict().items()
    }
    absl_flags = {
        id(flag)
        for module, flag_list in modules.items()
        if module.startswith("absl")
        for flag in flag_list
    }
    for name, flag in saved.items():
        if id(flag) not in absl_flags and name in registry:
            delattr(registry, name)
    try:
        define_flags()
        yield registry
    finally:
        for name in list(registry):
            if registry[name] is not saved.get(name):
                delattr(registry, name)
        for name, flag in saved.items():
            if name not in registry:
                registry[name] = flag
        current = registry.flags_by_module_dict()
        for module, flag_list in modules.items():
            for flag in flag_list:
                if flag not in current.get(module, []):
                    registry.register_flag_by_module(module, flag)
        current = registry.key_flags_by_module_dict()
        for module, flag_list in key_modules.items():
            for flag in flag_list:
                if flag not in current.get(module, []):
                    registry.register_key_flag_for_module(module, flag)
        if not was_parsed:
            registry.unparse_flags()


def run_cli(module, argv):
    """Parse `argv` with `module`'s flags and run its `main` (which, run by
    `absl.app.run`, must return None)."""
    with isolated_flags(module.define_flags) as registry:
        registry.unparse_flags()
        registry([module.COMMAND_NAME] + list(argv))
        assert module.main([]) is None


def write_image_folder(root, count, size=(20, 24), unreadable=False):
    """`count` smooth RGB images under `root/test/` (`0.png`, ...), and with
    `unreadable=True` also `broken.png`, a file no decoder can read."""
    folder = os.path.join(root, "test")
    os.makedirs(folder, exist_ok=True)
    if unreadable:
        with open(os.path.join(folder, "broken.png"), "wb") as file:
            file.write(b"\x89PNG not an image")
    rng = np.random.default_rng(0)
    for index in range(count):
        low = rng.integers(0, 256, (size[0] // 4, size[1] // 4, 3))
        image = np.repeat(np.repeat(low, 4, axis=0), 4, axis=1)
        PIL.Image.fromarray(image.astype("uint8")).save(
            os.path.join(folder, f"{index}.png")
        )
    return root


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tokenizer.keras"
    tiny_tokenizer("part_of_speech").save(str(path))
    return str(path)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    return write_image_folder(
        str(tmp_path_factory.mktemp("images")), 6, unreadable=True
    )


def folder_argv(model, folder, output_dir, *extra):
    """The flags of a CLI that reads `--model` and the `test` split of the
    image folder `folder` (a `write_image_folder`), then `extra`."""
    return [
        f"--model={model}",
        f"--dataset={folder}",
        "--split=test",
        f"--data_dir={os.path.join(folder, 'tfds')}",
        f"--output_dir={output_dir}",
        "--noprogress",
        *extra,
    ]


def evaluate_argv(saved_model, image_folder, output_dir, *extra):
    return folder_argv(
        saved_model, image_folder, output_dir, "--batch_size=4", *extra
    )


def test_cli_writes_metrics_and_pictures(
    saved_model, image_folder, tmp_path, capsys
):
    output_dir = tmp_path / "eval"
    run_cli(
        evaluate,
        evaluate_argv(
            saved_model,
            image_folder,
            output_dir,
            "--no_fid",
            "--no_lpips",
            "--jpeg_quality=75",
            "--grid_size=3",
        ),
    )
    with open(output_dir / "metrics.json") as file:
        metrics = json.load(file)
    assert metrics["num_images"] == 6 and metrics["num_batches"] == 2
    assert metrics["image_shape"] == [16, 16, 3]  # the model's resolution
    assert metrics["rfid"] is None and metrics["lpips"] is None
    assert 0 < metrics["psnr"] < 100 and -1 <= metrics["ssim"] <= 1
    assert metrics["protocol"]["jpeg_quality"] == 75
    assert metrics["metadata"]["split"] == "test"
    assert metrics["metadata"]["split_size"] == 6
    # The unreadable file is left out, and counted.
    assert metrics["protocol"]["num_skipped"] == 1
    assert metrics["metadata"]["num_skipped"] == 1
    [[filename, reason]] = metrics["metadata"]["skipped_files"]
    assert filename == "broken.png" and reason
    assert metrics["metadata"]["preprocessing"]["crop"] == "center"
    assert 0 < metrics["noun_usage"] <= 1
    for name in ("reconstructions.png", "code_histogram.png", "flags.txt"):
        assert (output_dir / name).exists(), name
    assert "--jpeg_quality=75" in (output_dir / "flags.txt").read_text()
    out = capsys.readouterr().out
    assert "PSNR" in out and "noun usage" in out
    assert f"Outputs written to: {output_dir}" in out


def test_cli_missing_model_is_a_usage_error(tmp_path):
    with pytest.raises(app.UsageError, match="No model file"):
        run_cli(
            evaluate,
            [f"--model={tmp_path / 'missing.keras'}", "--noprogress"],
        )
    with pytest.raises(app.UsageError, match="--model is required"):
        run_cli(evaluate, ["--noprogress"])


@pytest.mark.large
def test_cli_with_real_fid_and_lpips(saved_model, image_folder, tmp_path):
    output_dir = tmp_path / "eval"
    run_cli(evaluate, evaluate_argv(saved_model, image_folder, output_dir))
    with open(output_dir / "metrics.json") as file:
        metrics = json.load(file)
    assert metrics["rfid"] > 0 and metrics["lpips"] > 0
    assert "rank deficient" in metrics["notes"]["rfid"]
