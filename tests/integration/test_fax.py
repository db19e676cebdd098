"""Faxes on real Asterisk (spandsp): SendFAX from a simulated machine into ReceiveFAX."""
from __future__ import annotations

import os
import re

from PIL import Image, ImageDraw

from .conftest import ticket_for


def make_tiff(path, pages: int) -> None:
    """A G4 TIFF as fax machines send: 1728 px wide, 204x196 dpi, text on every page."""
    images = []
    for n in range(pages):
        im = Image.new("1", (1728, 2100), 1)
        d = ImageDraw.Draw(im)
        for row in range(0, 2000, 60):
            d.text((80, 40 + row), f"12345 hotline test fax - page {n + 1} of {pages} - line {row // 60}", fill=0)
        d.rectangle((60, 20, 1660, 2080), outline=0, width=4)
        images.append(im)
    images[0].save(path, compression="group4", save_all=True, append_images=images[1:], dpi=(204, 196))
    os.chmod(path, 0o644)


async def test_multipage_fax_becomes_a_ticket_with_a_pdf(hotline, driver):
    s = hotline.settings
    tif = f"{s.inst_in_root}/spool/sim-fax-2p.tif"
    make_tiff(s.host_path(tif), 2)
    linkedid = await fax_call(driver, s, tif)
    t = await ticket_for(hotline.store, linkedid, timeout=90)
    assert (t["disposition"], t["dialed"], t["department"]) == ("fax", s.centre.fax_number, "general")
    [att] = [a for a in await hotline.store.attachments(t["id"]) if a["kind"] == "fax"]
    assert (att["kind"], att["status"], att["pages"]) == ("fax", "ok", 2), att
    with open(att["path"], "rb") as f:
        pdf = f.read()
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 2


async def test_fax_cut_off_halfway_is_marked_partial(hotline, driver):
    s = hotline.settings
    tif = f"{s.inst_in_root}/spool/sim-fax-4p.tif"
    make_tiff(s.host_path(tif), 4)
    linkedid = await fax_call(driver, s, tif, cut=24)
    t = await ticket_for(hotline.store, linkedid, timeout=90)
    [att] = [a for a in await hotline.store.attachments(t["id"]) if a["kind"] == "fax"]
    assert att["status"] == "partial" and 1 <= att["pages"] < 4, att
    assert "partial fax" in att["error"]


async def fax_call(driver, s, tif: str, cut: float = 0) -> str:
    from hotline.dialer import SimCall, new_linkedid, originate
    linkedid = new_linkedid(s.node)
    await originate(driver, SimCall(to=s.centre.fax_number, caller="02087654321", fax=tif, cut=cut), linkedid)
    return linkedid
