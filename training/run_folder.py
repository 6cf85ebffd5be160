"""A training run folder that keeps its record: one writer, no mixed runs.

- `lock()`: one process per folder. The lock is an `fcntl.flock` on
  `<folder>/.lock`, so it dies with its process: the lock of a killed run is
  taken over, a live one refuses the second process with a clear message.
- `start(resume, overwrite)`: `--noresume` on a folder that holds a
  checkpoint refuses unless `--overwrite`, which moves the old run aside
  (`<folder>.replaced-<stamp>/`), never deleting it. Temporary files of a
  killed writer are removed.
- `trim_to_step(step)`: `history.jsonl` and the reconstruction pictures
  keep only the steps of the checkpoint the run continues from (a run that
  stopped on a NaN or was killed after its last checkpoint left more).

No TensorFlow here: the checks run before the slow imports.
"""

import datetime
import fcntl
import glob
import json
import os
import re

CHECKPOINT_NAME = "checkpoint.npz"
HISTORY_NAME = "history.jsonl"
LOCK_NAME = ".lock"
_PICTURE = re.compile(r"reconstructions_(\d+)\.png$")


class RunFolderError(RuntimeError):
    """The run folder cannot be used as asked; the message says why."""


class RunFolder:
    """The output folder of one training run.

    Args:
        path: str. The folder (created if missing).

    Example:

    >>> import tempfile
    >>> folder = RunFolder(tempfile.mkdtemp())
    >>> folder.lock()
    >>> folder.start(resume=True, overwrite=False)
    >>> folder.release()
    """

    def __init__(self, path):
        self.path = os.path.abspath(os.fspath(path))
        self._lock_file = None

    # === Lock ===

    def lock(self):
        """Hold the folder's lock, or raise `RunFolderError` if it is held."""
        os.makedirs(self.path, exist_ok=True)
        lock_path = os.path.join(self.path, LOCK_NAME)
        handle = open(lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise RunFolderError(
                f"{self.path} is in use by another training process "
                f"({owner}). Wait for it to finish, stop it, or pass a "
                "different --output_dir."
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.datetime.now().isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()}, started {started}\n")
        handle.flush()
        self._lock_file = handle

    def release(self):
        """Give the lock up (also happens when the process ends)."""
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    # === Start ===

    def start(self, resume, overwrite):
        """Check `--resume`/`--overwrite` against the folder; clean it up.

        Returns:
            The folder the old run was moved to, or `None`.
        """
        self.remove_temporary_files()
        checkpoint = os.path.join(self.path, CHECKPOINT_NAME)
        if resume or not os.path.exists(checkpoint):
            return None
        if not overwrite:
            raise RunFolderError(
                f"{self.path} already holds a run (checkpoint.npz). "
                "--noresume would overwrite its checkpoint and mix two runs' "
                "history: drop --noresume to continue it, pass --overwrite "
                "to move the old run aside, or choose another --output_dir."
            )
        return self.move_aside()

    def move_aside(self):
        """Move everything but the lock to `<folder>.replaced-<stamp>/`."""
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = f"{self.path}.replaced-{stamp}"
        suffix = 1
        while os.path.exists(aside):
            suffix += 1
            aside = f"{self.path}.replaced-{stamp}-{suffix}"
        os.makedirs(aside)
        for name in os.listdir(self.path):
            if name != LOCK_NAME:
                os.replace(
                    os.path.join(self.path, name), os.path.join(aside, name)
                )
        return aside

    def remove_temporary_files(self):
        """Delete `*.tmp` files that a killed writer left (lock held)."""
        removed = []
        for path in glob.glob(os.path.join(self.path, "*.tmp")):
            os.remove(path)
            removed.append(os.path.basename(path))
        return removed

    # === Record ===

    def trim_to_step(self, step):
        """Drop history records and pictures after `step`.

        Returns:
            The number of history records dropped.
        """
        history_path = os.path.join(self.path, HISTORY_NAME)
        dropped = 0
        if os.path.exists(history_path):
            with open(history_path) as file:
                lines = [line for line in file if line.strip()]
            kept = []
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # A line cut short by a kill.
                if record.get("step", 0) <= step:
                    kept.append(json.dumps(record) + "\n")
            dropped = len(lines) - len(kept)
            if dropped:
                from vqct_keras.utils import files

                files.write_text(history_path, "".join(kept))
        for name in os.listdir(self.path):
            match = _PICTURE.match(name)
            if match and int(match.group(1)) > step:
                os.remove(os.path.join(self.path, name))
        return dropped
