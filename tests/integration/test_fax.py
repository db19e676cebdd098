"""Faxes on real Asterisk (spandsp): SendFAX from a simulated machine into ReceiveFAX."""
from __future__ import annotations

import re

from .conftest import fax_call, make_tiff, ticket_for


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
