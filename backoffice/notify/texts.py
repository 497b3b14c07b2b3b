"""What each kind of alert is called, which page fixes it, and every text a notification shows, in
English (in the code) and Swedish (``SV``). The alert's own message and fix, written by whoever raised
it, are quoted as they are; the title and the fix here are what a reader sees first, in their language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    title: str
    fix: str
    #: The store page that fixes it: ``overview``, ``registers``, ``mapping``, ``preflight``, ``exports``.
    page: str


KINDS: dict[str, Kind] = {
    "no_z_report": Kind(
        "No Z-report received",
        "Check that the register closed the day and that its bridge is online.",
        "registers",
    ),
    "register_silent": Kind(
        "A register has gone silent",
        "Check that the register and its bridge are switched on and online.",
        "registers",
    ),
    "z_gap": Kind(
        "Z-reports are missing",
        "Check the bridge at the store; the missing days are not booked.",
        "registers",
    ),
    "z_incomplete": Kind(
        "Z-reports lack items Skatteverket requires",
        "Update the register's Z-report (SKVFS 2014:9 7 kap. 3 §).",
        "registers",
    ),
    "z_invalid": Kind(
        "A Z-report was refused",
        "See the refused reports on the Exports page, fix the register and dismiss the report there.",
        "exports",
    ),
    "z_conflict": Kind(
        "A Z-report conflicts with one already received",
        "See the refused reports on the Exports page and dismiss the report there once dealt with.",
        "exports",
    ),
    "unmapped": Kind("Accounts need mapping", "Map the keys on the Account mapping page.", "mapping"),
    "preflight_failed": Kind(
        "A preflight check failed",
        "Open the Preflight page: each failed check says what to fix.",
        "preflight",
    ),
    "reconnect_needed": Kind(
        "Fortnox needs to be connected again", "Open the store and choose Reconnect Fortnox.", "overview"
    ),
    "token_expiring": Kind(
        "The Fortnox authorisation expires soon",
        "Open the store and choose Reconnect Fortnox before it expires.",
        "overview",
    ),
    "export_rejected": Kind(
        "Fortnox refused a day", "Open the day, fix what Fortnox named and send it again.", "exports"
    ),
    "export_needs_attention": Kind(
        "A day needs attention before it can be posted", "Open the day and do what it says.", "exports"
    ),
    "export_held_duplicate": Kind(
        "A day was held as a possible duplicate",
        "Open the day: post it anyway, or mark it as already booked.",
        "exports",
    ),
}

PAGES = {
    "overview": "/stores/{store_id}/",
    "registers": "/stores/{store_id}/registers",
    "mapping": "/stores/{store_id}/mapping",
    "preflight": "/stores/{store_id}/preflight",
    "exports": "/stores/{store_id}/exports/",
}

SV: dict[str, str] = {
    # kinds
    "No Z-report received": "Ingen Z-rapport mottagen",
    "Check that the register closed the day and that its bridge is online.": "Kontrollera att kassan har gjort dagsavslut och att dess brygga är uppkopplad.",
    "A register has gone silent": "En kassa har tystnat",
    "Check that the register and its bridge are switched on and online.": "Kontrollera att kassan och dess brygga är påslagna och uppkopplade.",
    "Z-reports are missing": "Z-rapporter saknas",
    "Check the bridge at the store; the missing days are not booked.": "Kontrollera bryggan i butiken; de saknade dagarna är inte bokförda.",
    "Z-reports lack items Skatteverket requires": "Z-rapporter saknar uppgifter som Skatteverket kräver",
    "Update the register's Z-report (SKVFS 2014:9 7 kap. 3 §).": "Uppdatera kassans Z-rapport (SKVFS 2014:9 7 kap. 3 §).",
    "A Z-report was refused": "En Z-rapport avvisades",
    "See the refused reports on the Exports page, fix the register and dismiss the report there.": "Se avvisade rapporter på sidan Exporter, rätta kassan och avfärda rapporten där.",
    "A Z-report conflicts with one already received": "En Z-rapport krockar med en som redan tagits emot",
    "See the refused reports on the Exports page and dismiss the report there once dealt with.": "Se avvisade rapporter på sidan Exporter och avfärda rapporten där när den är hanterad.",
    "Accounts need mapping": "Konton behöver konteras",
    "Map the keys on the Account mapping page.": "Koppla nycklarna till konton på sidan Kontering.",
    "A preflight check failed": "En förhandskontroll misslyckades",
    "Open the Preflight page: each failed check says what to fix.": "Öppna Förhandskontroll: varje kontroll som fallerat säger vad som ska rättas.",
    "Fortnox needs to be connected again": "Fortnox behöver anslutas igen",
    "Open the store and choose Reconnect Fortnox.": "Öppna butiken och välj Anslut Fortnox igen.",
    "The Fortnox authorisation expires soon": "Behörigheten till Fortnox går snart ut",
    "Open the store and choose Reconnect Fortnox before it expires.": "Öppna butiken och välj Anslut Fortnox igen innan den går ut.",
    "Fortnox refused a day": "Fortnox avvisade en dag",
    "Open the day, fix what Fortnox named and send it again.": "Öppna dagen, rätta det Fortnox angav och skicka igen.",
    "A day needs attention before it can be posted": "En dag behöver åtgärdas innan den kan bokföras",
    "Open the day and do what it says.": "Öppna dagen och gör det som står där.",
    "A day was held as a possible duplicate": "En dag stoppades som möjlig dubblett",
    "Open the day: post it anyway, or mark it as already booked.": "Öppna dagen: bokför ändå, eller markera den som redan bokförd.",
    # mails
    "Resolved": "Löst",
    "Store": "Butik",
    "Day": "Dag",
    "What happened": "Vad som hände",
    "What to do": "Vad du gör",
    "Open": "Öppna",
    "Nothing more to do: this is resolved.": "Inget mer att göra: detta är löst.",
    "Daily summary": "Daglig sammanfattning",
    "{count} events": "{count} händelser",
    "opened": "nytt",
    "resolved": "löst",
    "You get this mail because of your notification settings:": "Du får detta brev på grund av dina aviseringsinställningar:",
    # the settings page
    "Notifications": "Aviseringar",
    "What to be told about": "Vad du vill få veta",
    "For which stores": "För vilka butiker",
    "Every store I may see, new ones too": "Alla butiker jag kan se, även nya",
    "Only these stores": "Bara dessa butiker",
    "Daily digest": "Daglig sammanfattning",
    "One mail a day listing the events, instead of one mail each.": "Ett brev om dagen med alla händelser, i stället för ett brev per händelse.",
    "Webhook": "Webhook",
    "Each event is POSTed as JSON to this address, signed with the secret (see the README).": "Varje händelse skickas som JSON med POST till denna adress, signerad med hemligheten (se README).",
    "Address": "Adress",
    "New secret": "Ny hemlighet",
    "Remove the webhook": "Ta bort webhooken",
    "The webhook's secret. It is shown once; keep it now:": "Webhookens hemlighet. Den visas en gång; spara den nu:",
    "The webhook was removed.": "Webhooken togs bort.",
    "The address must start with https:// or http://.": "Adressen måste börja med https:// eller http://.",
    "The address reaches {address}, inside the network Dagskassa runs in: webhooks go to public "
    "addresses only (the operator may allow internal ones with notify.webhook_private_addresses).": (
        "Adressen når {address}, inuti nätverket där Dagskassa körs: webhooks går bara till publika "
        "adresser (driftansvarig kan tillåta interna med notify.webhook_private_addresses)."
    ),
    "Pending deliveries": "Leveranser som väntar",
    "No webhook yet.": "Ingen webhook än.",
    "Save": "Spara",
    "Saved.": "Sparat.",
}


def say(text: str, language: str, **values: Any) -> str:
    """``text`` in ``language`` (``sv`` or ``en``), with ``{name}`` placeholders filled in."""
    if language == "sv":
        text = SV.get(text, text)
    return text.format(**values) if values else text


def kind_of(name: str) -> Kind:
    """The kind's texts; an alert kind nobody described yet still reads sensibly."""
    return KINDS.get(name) or Kind(name.replace("_", " ").capitalize(), "", "overview")


def page_path(kind: str, store_id: int) -> str:
    return PAGES[kind_of(kind).page].format(store_id=store_id)
