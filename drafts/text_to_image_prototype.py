"""Prototype of the text-to-image model (issue 9), kept so the chapter can start from it.

A caption (word tokens) goes through a 2-layer non-causal GPT (utils.gpt, causal=False); a small
U-Net predicts the noise, conditioned two ways: FiLM (scale and shift) from the time embedding plus
the mean of the caption's token states, and cross-attention from the 8x8 and 4x4 feature maps to
the token states (padding masked). Captions are dropped 10 % of the time (a <null> caption), so
one model serves classifier-free guidance: eps = (1 + w) eps(caption) - w eps(null).

Run from the repository root:  .venv/bin/python drafts/text_to_image_prototype.py '{"steps": 3000}'
Options (JSON): steps, batch (32), lr (2e-3), ch ([32, 64]), n (20000 training pictures), ws ([0, 1, 3]), threads.
"""
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import torch, torch.nn as nn, torch.nn.functional as F
from utils import diffusion as D
from utils.data.scenes import sample_scenes, caption_accuracy, SHAPES, COLOURS, SCENES
from utils.gpt import GPT, GPTConfig
from utils.unet import timestep_embedding
from utils.train import train, batch_sampler
kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
torch.set_num_threads(kw.get("threads", 2))
words = sorted(set(" ".join(list(SCENES) + ["a above"] + list(SHAPES) + list(COLOURS)).split()))
vocab = ["<pad>", "<null>"] + words
stoi = {w: i for i, w in enumerate(vocab)}
L = 8
def encode(caps):
    ids = torch.zeros(len(caps), L, dtype=torch.long)
    for i, c in enumerate(caps):
        t = [stoi[w] for w in c.rstrip(".").split()]
        ids[i, :len(t)] = torch.tensor(t)
    return ids
data = sample_scenes(kw.get("n", 20000), seed=0, split="train")
x0 = data.images * 2 - 1
ids = encode(data.captions)
E = 64
def groups(c): return math.gcd(c, 8)
class Block(nn.Module):
    def __init__(s, cin, cout, attn):
        super().__init__()
        s.n1, s.c1 = nn.GroupNorm(groups(cin), cin), nn.Conv2d(cin, cout, 3, padding=1)
        s.film = nn.Linear(E, 2 * cout)
        s.n2, s.c2 = nn.GroupNorm(groups(cout), cout), nn.Conv2d(cout, cout, 3, padding=1)
        s.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        s.attn = attn
        if attn:
            s.na = nn.GroupNorm(groups(cout), cout)
            s.q, s.k, s.v, s.o = nn.Linear(cout, cout), nn.Linear(E, cout), nn.Linear(E, cout), nn.Linear(cout, cout)
    def forward(s, x, emb, tokens, mask):
        h = s.c1(F.silu(s.n1(x)))
        scale, shift = s.film(emb)[:, :, None, None].chunk(2, 1)
        h = s.n2(h) * (1 + scale) + shift
        h = s.skip(x) + s.c2(F.silu(h))
        if s.attn:
            B, C, H, W = h.shape
            q = s.q(s.na(h).flatten(2).transpose(1, 2))            # (B, HW, C)
            k, v = s.k(tokens), s.v(tokens)                         # (B, L, C)
            a = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None], attn_mask=mask[:, None, None, :])[:, 0]
            h = h + s.o(a).transpose(1, 2).view(B, C, H, W)
        return h
class T2I(nn.Module):
    def __init__(s, ch=(32, 64)):
        super().__init__()
        s.text = GPT(GPTConfig(vocab_size=len(vocab), block_size=L, n_layer=2, n_head=4, n_embd=E, causal=False))
        s.time = nn.Sequential(nn.Linear(E, E), nn.SiLU(), nn.Linear(E, E))
        s.stem = nn.Conv2d(3, ch[0], 3, padding=1)
        s.d1, s.d2 = Block(ch[0], ch[0], False), Block(ch[0], ch[1], True)     # 16x16, 8x8
        s.mid = Block(ch[1], ch[1], True)                                      # 4x4
        s.u2, s.u1 = Block(2 * ch[1], ch[1], True), Block(ch[1] + ch[0], ch[0], False)
        s.head = nn.Sequential(nn.GroupNorm(groups(ch[0]), ch[0]), nn.SiLU(), nn.Conv2d(ch[0], 3, 3, padding=1))
    def forward(s, x, t, ids):
        tokens = s.text.hidden_states(ids)
        mask = ids != 0
        pooled = (tokens * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        emb = s.time(timestep_embedding(t, E)) + pooled
        h1 = s.d1(s.stem(x), emb, tokens, mask)                 # 16
        h2 = s.d2(F.avg_pool2d(h1, 2), emb, tokens, mask)       # 8
        m = s.mid(F.avg_pool2d(h2, 2), emb, tokens, mask)       # 4
        u = s.u2(torch.cat([F.interpolate(m, scale_factor=2), h2], 1), emb, tokens, mask)   # 8
        u = s.u1(torch.cat([F.interpolate(u, scale_factor=2), h1], 1), emb, tokens, mask)   # 16
        return s.head(u)
torch.manual_seed(0)
model = T2I(tuple(kw.get("ch", (32, 64))))
schedule = D.cosine_schedule(100)
gen = torch.Generator().manual_seed(0)
NULL = torch.tensor([stoi["<null>"]] + [0] * (L - 1))
def loss(m, b):
    x, i = b
    drop = torch.rand(len(i), generator=gen) < 0.1
    i = torch.where(drop[:, None], NULL, i)
    return D.ddpm_loss(m, x, schedule, generator=gen, ids=i)
t0 = time.perf_counter()
h = train(model, loss, batch_sampler(x0, ids, batch_size=kw.get("batch", 32), seed=0), steps=kw.get("steps", 2000), lr=kw.get("lr", 2e-3), warmup=min(100, kw.get("steps", 2000) // 2), progress=False)
print(kw, 'train s', round(time.perf_counter() - t0, 1), 'ms/step', round(1000 * (time.perf_counter() - t0) / kw.get("steps", 2000), 1), 'loss', round(sum(h.loss[-100:]) / 100, 4), flush=True)
model.eval()
test = sample_scenes(200, seed=5, split="train"); held = sample_scenes(200, seed=6, split="heldout")
def sample(caps, w, steps=20):
    i = encode(caps); n = NULL.expand(len(i), L)
    def guided(x, t):
        c = model(x, t, i)
        return c if w == 0 else (1 + w) * c - w * model(x, t, n)
    with torch.no_grad():
        return ((D.ddim_sample(guided, (len(i), 3, 16, 16), schedule, steps, generator=torch.Generator().manual_seed(1), clip=(-1, 1)) + 1) / 2).clamp(0, 1)
for w in kw.get("ws", [0, 1, 3]):
    t1 = time.perf_counter()
    s = sample(test.captions, w); sh = sample(held.captions, w)
    print('w', w, 'acc', round(caption_accuracy(s, test), 3), 'heldout', round(caption_accuracy(sh, held), 3), round(time.perf_counter() - t1, 1), 's', flush=True)
    if w == 1:
        import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
        from utils.plot import image_grid
        fig, ax = plt.subplots(figsize=(8, 8)); image_grid(s[:48], nrow=8, ax=ax); fig.savefig('text_to_image_prototype.png')
