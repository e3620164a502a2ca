"""Small crops of Kodak images for the embedding-edit tests (exact crops, no
resampling, so any Pillow version gives the same bytes' pixels).
Pillow 13.0.0. Run from the repository root: python Fixtures/reference/make_edit_fixtures.py"""
from PIL import Image

KODAK = "../shared/images/kodak"
CROPS = {
    "red-parrot-96x64.png": ("kodim23.png", (410, 130)),   # warm, saturated
    "blue-parrot-96x64.png": ("kodim23.png", (100, 200)),  # yellow, black and white face
}
for out, (src, (x, y)) in CROPS.items():
    im = Image.open(f"{KODAK}/{src}").convert("RGB").crop((x, y, x + 96, y + 64))
    im.save(f"Fixtures/edit/{out}", optimize=True)
