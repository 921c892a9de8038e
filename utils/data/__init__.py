"""Every data set the book uses, one module per family, each generated or shipped offline.

* :mod:`utils.data.toy2d`: 2-D mixtures with exact densities and modes.
* :mod:`utils.data.digits`: scikit-learn's real 8x8 handwritten digits, and as sequences of 17 grey levels.
* :mod:`utils.data.landscapes`: small generated landscapes whose attributes follow known distributions.
* :mod:`utils.data.faces`: small generated cartoon faces whose attributes follow known distributions.
* :mod:`utils.data.scenes`: small pictures drawn from captions (object pairs, two scenes), with held-out combinations.
* :mod:`utils.data.photos`: patches of scikit-learn's two sample photographs, for super-resolution.
* :mod:`utils.data.stories`: fairy tales from a probabilistic grammar, with exact log-probabilities.
* :mod:`utils.data.news`: short news articles written from known events, with reference summaries.
"""

from .digits import Digits, digit_levels, levels_to_images, load_digits
from .faces import Faces, measure_faces, sample_faces
from .landscapes import Landscapes, attribute_match, measure_landscapes, sample_landscapes
from .photos import PhotoPatches, bicubic_upsample, downsample, load_photo_patches, psnr
from .scenes import Scenes, parse_caption, read_scenes, sample_scenes
from .stories import (
    LONGEST_STORY,
    STORY_START,
    Story,
    StorySplits,
    count_derivations,
    hero_recalled,
    load_stories,
    sample_stories,
    story_log_prob,
    story_rows,
    true_entropy,
)
from .toy2d import TOY_NAMES, Toy2D, toy_2d

__all__ = ["Digits", "digit_levels", "levels_to_images", "load_digits", "TOY_NAMES", "Toy2D", "toy_2d",
           "Landscapes", "attribute_match", "measure_landscapes", "sample_landscapes",
           "Faces", "measure_faces", "sample_faces",
           "Scenes", "parse_caption", "read_scenes", "sample_scenes",
           "PhotoPatches", "bicubic_upsample", "downsample", "load_photo_patches", "psnr",
           "STORY_START", "Story", "StorySplits", "count_derivations", "hero_recalled", "load_stories",
           "sample_stories", "story_log_prob", "story_rows", "true_entropy", "LONGEST_STORY"]
