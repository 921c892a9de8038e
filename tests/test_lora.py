"""Tests of the LoRA adapters: a fresh adapter changes nothing, only A and B train, merging is exact."""

import copy

import pytest
import torch
import torch.nn as nn

from utils.gpt import GPT, GPTConfig
from utils.lora import LoRALinear, add_lora, count_parameters, merge_lora
from utils.train import batch_sampler, train

CONFIG = GPTConfig(vocab_size=20, block_size=16, n_layer=2, n_head=2, n_embd=16)


def small():
    torch.manual_seed(0)
    return GPT(CONFIG).eval()


def tokens(seed=1, batch=3, length=12):
    return torch.randint(CONFIG.vocab_size, (batch, length), generator=torch.Generator().manual_seed(seed))


def next_token_loss(model, batch):
    idx, targets = batch
    return model(idx, targets)[1]


def test_a_fresh_adapter_computes_what_the_base_model_computes():
    base = small()
    adapted = add_lora(copy.deepcopy(base), rank=4, alpha=8.0)
    idx = tokens()
    assert torch.allclose(adapted(idx)[0], base(idx)[0])
    layer = adapted.blocks[0].attn.c_attn
    assert isinstance(layer, LoRALinear) and layer.scaling == 2.0
    assert layer.A.shape == (4, 16) and layer.B.shape == (48, 4)
    assert torch.all(layer.B == 0) and layer.A.abs().sum() > 0  # A random, B zero, as in the paper


def test_only_the_attention_adapters_are_trainable():
    model, rank = add_lora(small(), rank=4), 4
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(name.endswith((".A", ".B")) for name in trainable)
    per_block = rank * (16 + 48) + rank * (16 + 16)  # c_attn 16 -> 48, c_proj 16 -> 16
    assert count_parameters(model) == CONFIG.n_layer * per_block
    for block in model.blocks:
        assert isinstance(block.attn.c_attn, LoRALinear) and isinstance(block.attn.c_proj, LoRALinear)
        assert type(block.mlp.c_proj) is nn.Linear and type(block.mlp.c_fc) is nn.Linear
    assert model.lm_head.weight is model.wte.weight  # the tie survives freezing
    total = small().num_params(non_embedding=False)
    assert count_parameters(model, trainable_only=False) == total + CONFIG.n_layer * per_block


def test_an_optimizer_step_moves_the_adapters_and_nothing_else():
    model = add_lora(small())
    frozen = {k: v.clone() for k, v in model.state_dict().items() if not k.endswith((".A", ".B"))}
    adapters = {k: v.clone() for k, v in model.state_dict().items() if k.endswith((".A", ".B"))}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    idx = tokens()
    for step in range(2):
        optimizer.zero_grad()
        next_token_loss(model, (idx[:, :-1], idx[:, 1:])).backward()
        if step == 0:  # with B = 0 the first gradient reaches B only
            assert all(m.A.grad.abs().max() == 0 and m.B.grad.abs().max() > 0
                       for m in model.modules() if isinstance(m, LoRALinear))
        optimizer.step()
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)
    state = model.state_dict()
    for name, value in frozen.items():
        assert torch.equal(state[name], value), name
    for name, value in adapters.items():
        assert not torch.equal(state[name], value), name


def test_merging_gives_the_same_outputs_and_a_plain_model():
    model = add_lora(small(), rank=2, alpha=4.0)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.05)
    idx = tokens()
    for _ in range(5):
        optimizer.zero_grad()
        next_token_loss(model, (idx[:, :-1], idx[:, 1:])).backward()
        optimizer.step()
    assert all(m.B.abs().max() > 0 for m in model.modules() if isinstance(m, LoRALinear))
    before = model(idx)[0]
    merged = merge_lora(model)
    assert merged is model
    assert not any(isinstance(m, LoRALinear) for m in merged.modules())
    assert torch.allclose(merged(idx)[0], before, atol=1e-5)
    assert not torch.allclose(merged(idx)[0], small()(idx)[0], atol=1e-5)  # the training is kept
    assert merged.lm_head.weight is merged.wte.weight
    plain = GPT(CONFIG).eval()
    plain.load_state_dict(merged.state_dict())  # the original names are back
    assert torch.allclose(plain(idx)[0], before, atol=1e-5)
    assert merge_lora(merged) is merged  # nothing left to merge: unchanged


@pytest.mark.parametrize("bias", [True, False])
def test_merged_linear_equals_the_adapter(bias):
    torch.manual_seed(3)
    layer = LoRALinear(nn.Linear(5, 7, bias=bias), rank=3, alpha=6.0)
    nn.init.normal_(layer.B)
    x = torch.randn(2, 4, 5)
    expected = x @ layer.base.weight.T + (layer.base.bias if bias else 0) + 2.0 * x @ layer.A.T @ layer.B.T
    assert torch.allclose(layer(x), expected, atol=1e-6)
    merged = layer.merged()
    assert type(merged) is nn.Linear and (merged.bias is not None) == bias
    assert torch.allclose(merged(x), layer(x), atol=1e-6)
    assert not layer.base.weight.requires_grad and layer.A.requires_grad and layer.B.requires_grad


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="rank must be an integer of at least 1, got 0"):
        LoRALinear(nn.Linear(4, 4), rank=0)
    with pytest.raises(ValueError, match="rank"):
        add_lora(small(), rank=0)
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        LoRALinear(nn.Linear(4, 4), alpha=0.0)
    with pytest.raises(TypeError, match="base must be an nn.Linear, got Conv1d"):
        LoRALinear(nn.Conv1d(4, 4, 1))
    with pytest.raises(ValueError, match=r"no nn.Linear .* targets=\('q_proj',\).*blocks.0.attn.c_attn"):
        add_lora(small(), targets=("q_proj",))
    with pytest.raises(ValueError, match="its Linear layers are: none"):
        add_lora(nn.Sequential(nn.Conv1d(4, 4, 1)))
    with pytest.raises(ValueError, match="targets must be non-empty"):
        add_lora(small(), targets=())
    with pytest.raises(ValueError, match="already has LoRA adapters"):
        add_lora(add_lora(small()))


def test_targets_match_whole_names_only():
    model = add_lora(small(), targets="mlp.c_proj")  # one string is one target
    assert all(isinstance(b.mlp.c_proj, LoRALinear) and type(b.attn.c_proj) is nn.Linear for b in model.blocks)
    assert count_parameters(model) == CONFIG.n_layer * 4 * (64 + 16)


def test_train_fits_a_next_token_task_with_adapters_only():
    model = small()
    # A random GPT's embeddings (std 0.02) cap the tied head's logits at a few tenths, so no frozen
    # head could say anything confidently; widen them as pretraining would before freezing.
    with torch.no_grad():
        model.wte.weight.mul_(10)
    frozen = model.wte.weight.clone()
    add_lora(model, rank=4, alpha=8.0)
    # every token is followed by token + 1: a rule the base model does not know
    starts = torch.randint(CONFIG.vocab_size, (256, 1), generator=torch.Generator().manual_seed(0))
    rows = (starts + torch.arange(CONFIG.block_size + 1)) % CONFIG.vocab_size
    get_batch = batch_sampler(rows[:, :-1], rows[:, 1:], batch_size=16)
    history = train(model, next_token_loss, get_batch, steps=40, lr=0.1, progress=False)
    assert sum(history.loss[-10:]) / 10 < 0.8 * sum(history.loss[:10]) / 10
    assert torch.equal(model.wte.weight, frozen) and model.lm_head.weight is model.wte.weight


def test_defaults_are_the_papers_rank_4_and_alpha_8_and_add_lora_passes_its_own():
    adapter = LoRALinear(nn.Linear(6, 5))
    assert (adapter.rank, adapter.alpha, adapter.scaling) == (4, 8.0, 2.0)
    model = add_lora(nn.Sequential(nn.Linear(6, 5)), targets="0")
    assert (model[0].rank, model[0].alpha) == (4, 8.0)
    model = add_lora(nn.Sequential(nn.Linear(6, 5)), rank=2, alpha=3.0, targets="0")
    assert (model[0].rank, model[0].alpha, model[0].A.shape, model[0].B.shape) == (2, 3.0, (2, 6), (5, 2))


def test_adapters_take_the_base_layers_dtype_and_nn_linears_initialisation():
    torch.manual_seed(0)
    adapter = LoRALinear(nn.Linear(400, 3, dtype=torch.float64), rank=64)
    assert adapter.A.dtype == adapter.B.dtype == torch.float64  # a float32 adapter would not add to a float64 base
    # kaiming_uniform_ with a = sqrt(5), as nn.Linear: uniform on +-1/sqrt(fan_in), the largest draw close to it
    bound = 1 / 400 ** 0.5
    assert 0.95 * bound < adapter.A.abs().max().item() <= bound


def test_the_smallest_legal_arguments_are_accepted_and_the_first_illegal_refused():
    assert LoRALinear(nn.Linear(4, 3), rank=1, alpha=0.5)(torch.randn(4)).shape == (3,)  # one vector, rank 1
    for rank in (True, 2.5, 0):
        with pytest.raises(ValueError, match="rank must be an integer"):
            LoRALinear(nn.Linear(4, 3), rank=rank)
    for alpha in (True, "8", 0):
        with pytest.raises(ValueError, match="alpha must be a positive number"):
            LoRALinear(nn.Linear(4, 3), alpha=alpha)
    with pytest.raises(ValueError, match="non-empty module names"):
        add_lora(nn.Sequential(nn.Linear(4, 3)), targets=["0", ""])


def test_errors_name_what_the_model_has():
    with pytest.raises(ValueError) as info:
        add_lora(nn.Sequential(*[nn.Linear(2, 2) for _ in range(7)]), targets="fc")
    assert "its Linear layers are: 0, 1, 2, 3, 4, 5, ... (7 in all)" in str(info.value)
    with pytest.raises(ValueError) as info:
        add_lora(nn.Sequential(*[nn.Linear(2, 2) for _ in range(6)]), targets="fc")
    assert str(info.value).endswith("its Linear layers are: 0, 1, 2, 3, 4, 5")
    model = add_lora(nn.Sequential(*[nn.Linear(2, 2) for _ in range(5)]), targets=("0", "1", "2", "3"))
    with pytest.raises(ValueError) as info:
        add_lora(model, targets="4")
    assert str(info.value) == ("model already has LoRA adapters (on 0, 1, 2); "
                               "call merge_lora(model) before adding new ones")
    with pytest.raises(ValueError) as info:
        LoRALinear(nn.Linear(4, 3))("not a tensor")
    assert str(info.value) == "x must be a tensor (..., 4), got str"  # describe(x), not describe(None)
