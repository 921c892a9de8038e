"""The text-to-image pieces: caption tokens, the conditioned model, caption dropout, guidance."""

import pytest
import torch

from utils import diffusion as D
from utils.data.scenes import sample_scenes
from utils.text_to_image import CAPTION_LENGTH, NULL, PAD, WORDS, TextToImage, encode_captions


def test_every_caption_of_the_scenes_encodes_and_reads_back():
    captions = sample_scenes(300, seed=0, split="all").captions
    ids = encode_captions(captions)
    assert ids.shape == (300, CAPTION_LENGTH) and (ids[:, 0] != PAD).all()
    for text, row in zip(captions, ids):
        assert " ".join(WORDS[i] for i in row if i != PAD) == text.rstrip(".")
    assert encode_captions([""])[0].tolist() == [NULL] + [PAD] * (CAPTION_LENGTH - 1)


def test_unknown_words_and_bad_types_get_clear_errors():
    with pytest.raises(ValueError, match=r"captions\[1\].*purple"):
        encode_captions(["a red ball above a blue box", "a purple ball above a blue box"])
    with pytest.raises(TypeError, match="list of strings"):
        encode_captions("a red ball above a blue box")
    with pytest.raises(ValueError, match="more than length"):
        encode_captions(["a red ball above a blue box"], length=4)


def test_model_predicts_noise_per_caption():
    torch.manual_seed(0)
    model = TextToImage(channels=(8, 16), width=16, n_layer=1, n_head=2)
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([5, 50])
    a = encode_captions(["a red ball above a blue box", "a red ball above a blue box"])
    b = encode_captions(["a red ball above a blue box", "a landscape with mountains at night"])
    out_a, out_b = model(x, t, a), model(x, t, b)
    assert out_a.shape == x.shape
    torch.testing.assert_close(out_a[0], out_b[0])  # each picture sees only its own caption
    assert not torch.allclose(out_a[1], out_b[1])
    with pytest.raises(ValueError, match="one caption per picture"):
        model(x, t, a[:1])


def test_drop_conditions_replaces_rows_at_the_given_rate():
    cond = torch.arange(1, 4001).view(1000, 4)
    null = torch.zeros(4, dtype=torch.long)
    assert torch.equal(D.drop_conditions(cond, null, 0.0), cond)
    assert (D.drop_conditions(cond, null, 1.0) == 0).all()
    dropped = (D.drop_conditions(cond, null, 0.1, torch.Generator().manual_seed(0)) == 0).all(1)
    assert 0.07 < dropped.float().mean() < 0.13
    with pytest.raises(ValueError, match="null must be"):
        D.drop_conditions(cond, torch.zeros(3), 0.1)
    with pytest.raises(ValueError, match="p must"):
        D.drop_conditions(cond, null, 1.5)


def test_guidance_is_the_conditional_model_at_zero_and_extrapolates_beyond():
    def model(x, t, cond):  # a stand-in whose "noise" is the condition's first entry
        return x * 0 + cond[:, :1].float().view(-1, 1, 1, 1)

    x, t = torch.zeros(2, 1, 2, 2), torch.tensor([1, 2])
    cond, null = torch.tensor([[3, 0], [5, 0]]), torch.tensor([1, 0])
    torch.testing.assert_close(D.guided(model, 0.0, null)(x, t, cond), model(x, t, cond))
    got = D.guided(model, 2.0, null)(x, t, cond)  # (1 + 2) c - 2 * 1
    torch.testing.assert_close(got[:, 0, 0, 0], torch.tensor([7.0, 13.0]))
    with pytest.raises(ValueError, match="weight"):
        D.guided(model, -1.0, null)


def test_train_ddpm_with_captions_learns_a_conditional_and_an_unconditional_model():
    torch.manual_seed(0)
    data = sample_scenes(64, seed=0)
    model = TextToImage(channels=(8, 16), width=16, n_layer=1, n_head=2)
    null = encode_captions([""])[0]
    ema, history = D.train_ddpm(model, data.images * 2 - 1, D.cosine_schedule(20), steps=3, batch=8, warmup=1,
                                cond=encode_captions(data.captions), null=null, p_uncond=0.5)
    assert len(history.loss) == 3 and not ema.training
    with pytest.raises(ValueError, match="p_uncond > 0 needs"):
        D.train_ddpm(model, data.images, D.cosine_schedule(20), steps=1, p_uncond=0.1)


@pytest.mark.parametrize("target", ["x0", "eps"])
def test_the_recipe_trains_once_then_loads_the_same_noise_predictor(tmp_path, monkeypatch, target):
    from utils.text_to_image import SIZES, TEXT_TO_IMAGE, load_text_to_image

    monkeypatch.setenv("GENAI_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(SIZES, "cpu", {"n_train": 32, "steps": 2, "batch": 4, "channels": (8, 16)})
    trained = load_text_to_image(target)  # nothing saved yet: trains with the recipe, then saves
    assert isinstance(trained, D.NoiseFromX0) == (target == "x0")
    assert TEXT_TO_IMAGE[target].path == tmp_path / "cpu" / f"{TEXT_TO_IMAGE[target].name}.pt"
    assert TEXT_TO_IMAGE[target].path.exists()
    loaded = load_text_to_image(target)
    x, t, ids = torch.randn(2, 3, 16, 16), torch.tensor([3, 90]), encode_captions(["a red ball above a blue box", ""])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t, ids), trained(x, t, ids))
    with pytest.raises(ValueError, match="target"):
        load_text_to_image("noise")
