"""Natural photos that installed packages carry, each assigned to a split.

Sources (whichever are installed):

* Debian `mate-backgrounds`: 12 nature photos, 1920-2560 px.
* Debian `plasma-workspace-wallpapers`: the 11 wallpapers that are photos
  (the others are drawings), 2560 px.
* scikit-image's bundled photos (13, 300-1400 px; 3 of them gray).
* scikit-learn's `china.jpg` and `flower.jpg`.

Each photo belongs to one split only, fixed by name in `TEST_SOURCES`, so
train and test crops never come from the same photo, and installing or
removing a package never moves a photo from one split to the other.
"""

import dataclasses
import importlib.util
import os
import re

MATE_DIR = "/usr/share/backgrounds/mate/nature"
PLASMA_DIR = "/usr/share/wallpapers"
MATE_PHOTOS = (
    "Aqua",
    "Blinds",
    "Dune",
    "FreshFlower",
    "Garden",
    "GreenMeadow",
    "LadyBird",
    "RainDrops",
    "Storm",
    "TwoWings",
    "Wood",
    "YellowFlower",
)
PLASMA_PHOTOS = (
    "BytheWater",
    "ColdRipple",
    "ColorfulCups",
    "DarkestHour",
    "EveningGlow",
    "FallenLeaf",
    "Grey",
    "Kite",
    "OneStandsOut",
    "Path",
    "summer_1am",
)
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "moon.png",
    "motorcycle_left.png",
    "retina.jpg",
    "rocket.jpg",
)
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")
# About a fifth of the photos, of varied kinds: macro, sky, landscape,
# forest, animal, objects, man-made, texture.
TEST_SOURCES = frozenset(
    {
        "mate/LadyBird",
        "mate/Storm",
        "plasma/EveningGlow",
        "plasma/Path",
        "skimage/chelsea",
        "skimage/coffee",
        "skimage/gravel",
        "skimage/rocket",
    }
)


@dataclasses.dataclass(frozen=True)
class PhotoSource:
    """One photo: a stable id (`"mate/Aqua"`), its file and its split."""

    source_id: str
    path: str
    split: str


def _package_dir(module_name):
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def _largest_landscape(folder):
    """The largest `<W>x<H>.<ext>` file with W >= H in a Plasma wallpaper."""
    best, best_area = None, 0
    if not os.path.isdir(folder):
        return None
    for name in os.listdir(folder):
        match = re.fullmatch(r"(\d+)x(\d+)\.(jpg|jpeg|png)", name.lower())
        if not match:
            continue
        width, height = int(match[1]), int(match[2])
        if width >= height and width * height > best_area:
            best, best_area = os.path.join(folder, name), width * height
    return best


def candidate_paths():
    """`{source id: path}` for every known photo, installed or not."""
    paths = {}
    for name in MATE_PHOTOS:
        paths[f"mate/{name}"] = os.path.join(MATE_DIR, name + ".jpg")
    for name in PLASMA_PHOTOS:
        folder = os.path.join(PLASMA_DIR, name, "contents", "images")
        paths[f"plasma/{name}"] = _largest_landscape(folder) or folder
    skimage_dir = _package_dir("skimage")
    if skimage_dir:
        for name in SKIMAGE_PHOTOS:
            source_id = "skimage/" + os.path.splitext(name)[0]
            paths[source_id] = os.path.join(skimage_dir, "data", name)
    sklearn_dir = _package_dir("sklearn")
    if sklearn_dir:
        for name in SKLEARN_PHOTOS:
            source_id = "sklearn/" + os.path.splitext(name)[0]
            paths[source_id] = os.path.join(
                sklearn_dir, "datasets", "images", name
            )
    return paths


def find_photo_sources():
    """The installed photos, sorted by id.

    Returns:
        list of `PhotoSource`; split `"test"` for ids in `TEST_SOURCES`,
        else `"train"`.
    """
    return [
        PhotoSource(
            source_id,
            path,
            "test" if source_id in TEST_SOURCES else "train",
        )
        for source_id, path in sorted(candidate_paths().items())
        if os.path.isfile(path)
    ]


# Bump when the crops change (builder version, crop settings), so that
# scripts/setup.d/40-images.sh prepares them again.
DATA_VERSION = "vqct_photo_crops 1.0.0"


def sources_fingerprint():
    """One line naming the installed photos and their sizes, and
    `DATA_VERSION`: it changes when a package adds or removes a photo."""
    parts = [DATA_VERSION]
    for source in find_photo_sources():
        parts.append(f"{source.source_id}:{os.path.getsize(source.path)}")
    return ";".join(parts)


if __name__ == "__main__":
    # Standard library only: the set-up script calls this without
    # importing TensorFlow.
    print(sources_fingerprint())
