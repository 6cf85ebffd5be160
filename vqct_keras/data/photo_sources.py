"""Natural photos that installed packages carry, each assigned to a split.

Sources (whichever are installed), with their licences (`LICENSES`):

* Debian `mate-backgrounds`: 12 nature photos, 1920-2560 px.
* Debian `plasma-workspace-wallpapers`: the 11 wallpapers that are photos
  (the others are drawings), 2560 px.
* Debian `lomiri-wallpapers-16.04` and `lomiri-wallpapers-20.04`: the 16
  wallpapers that are photos (the other 3 are renderings), 1365-6028 px.
* scikit-image's bundled photos (15, 300-1400 px; 3 of them gray).
* scikit-learn's `china.jpg` and `flower.jpg`.
* matplotlib's `grace_hopper.jpg`.

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
    "ihc.png",
    "moon.png",
    "motorcycle_left.png",
    # The same scene as motorcycle_left (a stereo pair): the same split.
    "motorcycle_right.png",
    "retina.jpg",
    "rocket.jpg",
)
SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")
MATPLOTLIB_PHOTOS = ("grace_hopper.jpg",)
LOMIRI_DIR = "/usr/share/backgrounds"
# `<name>_by_<author>.jpg`; left out: Fossa, Painting-Colors and umang
# (renderings, not photos).
LOMIRI_PHOTOS = (
    "Bridge_by_Sander_Klootwijk",
    "Dragonfly_by_Bolly",
    "Infinite-Sea_by_Aury88",
    "Kleiber_by_Lukas_Baubkus",
    "Picture_0B_by_freespace",
    "Picture_1A_by_freespace",
    "Wine_by_Jakkub_Mede",
    "aitzgorri_by_Aitzol_Berasategi",
    "analogpattern_by_Peter_Nerlich",
    "free_by_Peter_Nerlich",
    "friends_by_Aitzol_Berasategi",
    "greentock_by_Peter_Nerlich",
    "life_by_Aitzol_Berasategi",
    "picosdeeuropa_by_Aitzol_Berasategi",
    "seeding_by_Clements_Engelhardt",
    "sunset_by_Aitzol_Berasategi",
)
# Where each group comes from and under which licence (the packages'
# copyright files; per-photo authors are in the Lomiri file names).
LICENSES = {
    "mate": "Debian mate-backgrounds: GPL-2+ / CC-BY-SA (per file, see "
    "/usr/share/doc/mate-backgrounds/copyright)",
    "plasma": "Debian plasma-workspace-wallpapers: LGPL-3 / CC-BY-SA-4.0 "
    "(per wallpaper, see its metadata)",
    "lomiri": "Debian lomiri-wallpapers-16.04 / -20.04: CC-BY-4.0, "
    "CC-BY-SA-3.0/4.0 or CC0-1.0 per photo (see the packages' copyright)",
    "skimage": "scikit-image data: public domain or CC0 / CC-BY per image "
    "(skimage/data/README.txt)",
    "sklearn": "scikit-learn sample images: CC-BY 2.0 (Flickr, see "
    "sklearn/datasets/images/README.txt)",
    "matplotlib": "matplotlib sample data: grace_hopper.jpg, US Navy "
    "photo, public domain",
}
# About a fifth of the photos, of varied kinds: macro, sky, landscape,
# forest, animal, objects, man-made, texture, portrait, interior.
TEST_SOURCES = frozenset(
    {
        "lomiri/Dragonfly_by_Bolly",
        "lomiri/Wine_by_Jakkub_Mede",
        "lomiri/picosdeeuropa_by_Aitzol_Berasategi",
        "mate/LadyBird",
        "mate/Storm",
        "matplotlib/grace_hopper",
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


def _package_photos(package, names, *folders):
    """`{"<package>/<stem>": path}` of the photos a Python package bundles
    in `folders`; empty when the package is not installed."""
    directory = _package_dir(package)
    if not directory:
        return {}
    return {
        f"{package}/{os.path.splitext(name)[0]}": os.path.join(
            directory, *folders, name
        )
        for name in names
    }


def candidate_paths():
    """`{source id: path}` for every known photo, installed or not."""
    paths = {}
    for name in MATE_PHOTOS:
        paths[f"mate/{name}"] = os.path.join(MATE_DIR, name + ".jpg")
    for name in PLASMA_PHOTOS:
        folder = os.path.join(PLASMA_DIR, name, "contents", "images")
        paths[f"plasma/{name}"] = _largest_landscape(folder) or folder
    paths.update(_package_photos("skimage", SKIMAGE_PHOTOS, "data"))
    for name in LOMIRI_PHOTOS:
        paths[f"lomiri/{name}"] = os.path.join(LOMIRI_DIR, name + ".jpg")
    paths.update(
        _package_photos("sklearn", SKLEARN_PHOTOS, "datasets", "images")
    )
    paths.update(
        _package_photos(
            "matplotlib", MATPLOTLIB_PHOTOS, "mpl-data", "sample_data"
        )
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


# Bump when the embedded data changes (photo list, builder version, crop
# settings, what `default` is made of), so that
# scripts/setup.d/40-images.sh prepares it again on machines that keep an
# older copy.
DATA_VERSION = "vqct_photo_crops 2.0.0; default = photo crops"


def sources_fingerprint():
    """One line naming the installed photos and their sizes, and
    `DATA_VERSION`: it changes when a package adds or removes a photo."""
    parts = [DATA_VERSION]
    for source in find_photo_sources():
        parts.append(f"{source.source_id}:{os.path.getsize(source.path)}")
    return ";".join(parts)
