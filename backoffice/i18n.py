"""Swedish and English. The texts are written in English in the code and templates; ``SV`` holds their
Swedish, which is the default language. A missing translation shows the English text (and a test lists
every template text that has none)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Flask, g, redirect, request, session, url_for

from exporters.core.money import format_sek

LANGUAGES = ("sv", "en")

SV: dict[str, str] = {
    # layout and sign-in
    "Sign in": "Logga in",
    "Sign out": "Logga ut",
    "E-mail": "E-post",
    "Password": "Lösenord",
    "Wrong e-mail or password.": "Fel e-post eller lösenord.",
    "Stores": "Butiker",
    "Agency overview": "Byråöversikt",
    "Notifications": "Aviseringar",
    "Save": "Spara",
    "Saved.": "Sparat.",
    "Back": "Tillbaka",
    "Page not found": "Sidan finns inte",
    "There is nothing here, or you do not have access to it.": "Här finns inget, eller så har du inte behörighet.",
    "The form expired or was sent from elsewhere. Reload the page and try again.": "Formuläret har gått ut eller skickades från en annan sida. Ladda om sidan och försök igen.",
    # store pages
    "Overview": "Översikt",
    "Integration settings": "Integrationsinställningar",
    "Account mapping": "Kontering",
    "Exports": "Exporter",
    "Preflight": "Förhandskontroll",
    "Registers": "Kassor",
    "Audit log": "Händelselogg",
    "Store": "Butik",
    "Organisation number": "Organisationsnummer",
    "Fortnox connection": "Fortnox-koppling",
    "Connected": "Ansluten",
    "Not connected": "Inte ansluten",
    "Reconnect needed": "Behöver anslutas igen",
    "Tokens expire soon": "Behörigheten går snart ut",
    "Connect Fortnox": "Anslut Fortnox",
    "Connect Fortnox or Visma": "Anslut Fortnox eller Visma",
    "Reconnect Fortnox": "Anslut Fortnox igen",
    "Disconnect Fortnox": "Koppla från Fortnox",
    "Fortnox was connected.": "Fortnox är anslutet.",
    "Fortnox was disconnected.": "Fortnox är frånkopplat.",
    "Fortnox data imported.": "Data från Fortnox är hämtad.",
    # one accounting system per store, and switching (backoffice.services.switching)
    "Accounting system": "Bokföringssystem",
    "books the days from {day}": "bokför dagarna från och med {day}",
    "Connect {system}": "Anslut {system}",
    "Reconnect {system}": "Anslut {system} igen",
    "Disconnect {system}": "Koppla från {system}",
    "Import from {system}": "Hämta från {system}",
    "{system} was connected.": "{system} är anslutet.",
    "{system} was disconnected.": "{system} är frånkopplat.",
    "Data from {system} imported.": "Data från {system} är hämtad.",
    "A store books in one accounting system at a time. To switch, disconnect this one, then connect the other with a start date.": "En butik bokför i ett bokföringssystem i taget. För att byta: koppla från det här och anslut sedan det andra med ett startdatum.",
    "The first business day {new} books; the days before it stay in {old}.": "Den första affärsdagen som {new} bokför; dagarna före stannar i {old}.",
    "The earliest possible is {day}.": "Tidigast möjliga är {day}.",
    "From {day} the days go to {new}; the days before stay in {old}.": "Från och med {day} går dagarna till {new}; dagarna före stannar i {old}.",
    "{count} accounts of the mapping are not in {new}'s chart: map them on the Account mapping page.": "{count} konton i konteringen finns inte i kontoplanen i {new}: koppla dem på sidan Kontering.",
    "{old} is connected to this store, and a store books in one accounting system at a time": "{old} är anslutet till butiken, och en butik bokför i ett bokföringssystem i taget",
    "disconnect {old} first, then connect {new} with a start date": "koppla från {old} först och anslut sedan {new} med ett startdatum",
    "switching from {old} to {new} needs a start date": "bytet från {old} till {new} behöver ett startdatum",
    "give the first business day {new} should book; the days before it stay in {old}": "ange den första affärsdagen som {new} ska bokföra; dagarna före stannar i {old}",
    "the start date {start} is not after {last}, the last day booked in {old}": "startdatumet {start} är inte efter {last}, den sista dagen som bokförts i {old}",
    "choose {first} or later: a day is booked in one system only": "välj {first} eller senare: en dag bokförs bara i ett system",
    "not in the chart": "finns inte i kontoplanen",
    "Import from Fortnox": "Hämta från Fortnox",
    "Company": "Företag",
    "Last days": "Senaste dagarna",
    "Alerts": "Larm",
    "No alerts.": "Inga larm.",
    "Date": "Datum",
    "Register": "Kassa",
    "Sales": "Försäljning",
    "State": "Status",
    "Error": "Fel",
    "Fix": "Åtgärd",
    "Z-report PDF": "Z-rapport (PDF)",
    "attached to the voucher": "bifogad till verifikationen",
    "could not be attached": "kunde inte bifogas",
    "waiting to be attached": "väntar på att bifogas",
    "Attach the Z-report again": "Bifoga Z-rapporten igen",
    "The Z-report will be attached again.": "Z-rapporten bifogas igen.",
    "Nothing to attach.": "Inget att bifoga.",
    "Attach the Z-report": "Bifoga Z-rapporten",
    "A PDF of the Z-report on each voucher, for the accountant.": "En PDF av Z-rapporten på varje verifikation, för redovisningen.",
    "No Z-reports yet.": "Inga Z-rapporter än.",
    "No Z-report yesterday": "Ingen Z-rapport i går",
    # settings
    "Sync sales": "Synka försäljning",
    "Post each Z-report as a voucher.": "Bokför varje Z-rapport som en verifikation.",
    "Invoice": "Faktura",
    "Sales paid on invoice become Fortnox invoices.": "Försäljning på faktura blir fakturor i Fortnox.",
    "Allow tip on invoice": "Tillåt dricks på faktura",
    "Use order instead of invoice": "Använd order i stället för faktura",
    "Voucher series": "Verifikationsserie",
    "Cost center": "Kostnadsställe",
    "Project": "Projekt",
    "Posting time": "Bokföringstid",
    "The morning after, on the store's clock; empty posts each day as soon as it arrives.": (
        "Morgonen efter, enligt butikens klocka; tom bokför varje dag så snart den kommer."
    ),
    "none": "inget",
    "Connect Fortnox to pick from its data.": "Anslut Fortnox för att välja bland dess data.",
    # mapping
    "What is booked": "Vad som bokförs",
    "Account": "Konto",
    "Source": "Källa",
    "needs mapping": "behöver konteras",
    "BAS default": "BAS-förslag",
    "chosen": "vald",
    "seen in Z-reports": "finns i Z-rapporter",
    "Payment method": "Betalsätt",
    "Product group": "Varugrupp",
    "Revenue per VAT rate": "Intäkt per momssats",
    "Output VAT": "Utgående moms",
    "Tips": "Dricks",
    "Rounding": "Öresavrundning",
    "Cash difference": "Kassadifferens",
    "Add a product group": "Lägg till varugrupp",
    "VAT rate": "Momssats",
    "payment_methods": "Betalsätt",
    "product_groups": "Varugrupp",
    "revenue_by_vat_rate": "Intäkt per momssats",
    "output_vat": "Utgående moms",
    "tips": "Dricks",
    "rounding": "Öresavrundning",
    "cash_difference": "Kassadifferens",
    # exports
    "Voucher preview": "Förhandsgranskning av verifikation",
    "Debit": "Debet",
    "Credit": "Kredit",
    "Text": "Text",
    "Total": "Summa",
    "Send now": "Skicka nu",
    "Re-send": "Skicka igen",
    "Mark as already booked": "Markera som redan bokförd",
    "Post all missing days since": "Bokför alla saknade dagar sedan",
    "Post": "Bokför",
    "Refused reports": "Avvisade rapporter",
    "Reason": "Orsak",
    "Received": "Mottagen",
    "received": "mottagen",
    "ready": "redo",
    "posting": "bokförs",
    "posted": "bokförd",
    "retry_wait": "väntar på nytt försök",
    "uncertain": "osäker",
    "rejected": "avvisad",
    "needs_attention": "behöver åtgärd",
    "held_duplicate": "stoppad dubblett",
    "sie_instead": "med SIE-fil i stället",
    "Review": "Granskning",
    "settled by a later report": "ersatt av en senare rapport",
    "dismissed by {who}": "avfärdad av {who}",
    "Dismiss": "Avfärda",
    "The refused report was dismissed.": "Den avvisade rapporten är avfärdad.",
    "Book this day through a SIE file instead": "Bokför dagen med en SIE-fil i stället",
    "The day goes to the books through a SIE file: export it on the SIE files page.": "Dagen bokförs med en SIE-fil: exportera den på sidan SIE-filer.",
    "This day goes to the books through": "Dagen bokförs genom",
    "a SIE file": "en SIE-fil",
    "booked by hand": "bokförd för hand",
    "Queued for posting.": "Köad för bokföring.",
    "Marked as booked.": "Markerad som bokförd.",
    "days queued.": "dagar köade.",
    "Z-report": "Z-rapport",
    # preflight and agency
    "Check now": "Kontrollera nu",
    "Check all now": "Kontrollera alla nu",
    "Checked": "Kontrollerad",
    "Check": "Kontroll",
    "Evidence": "Underlag",
    "OK": "OK",
    "Failed": "Fel",
    "Not checked yet.": "Inte kontrollerad än.",
    "Last export": "Senaste export",
    "Filter": "Filtrera",
    "All": "Alla",
    "Problems only": "Bara problem",
    "stores": "butiker",
    # registers
    "Enroll a register": "Registrera en kassa",
    "New enrollment code": "Ny registreringskod",
    "Give this code to the register's bridge. It works once, for 24 hours:": "Ge den här koden till kassans brygga. Den fungerar en gång, i 24 timmar:",
    "Last contact": "Senaste kontakt",
    "Control unit": "Kontrollenhet",
    "Revoke": "Återkalla",
    "Revoked": "Återkallad",
    "Active": "Aktiv",
    "No registers yet.": "Inga kassor än.",
    "Get started": "Kom igång",
    "Correct after mapping change": "Rätta efter ändrad kontering",
    "Correction queued: a reversal and a new voucher.": "Rättelse köad: en vändning och en ny verifikation.",
    "Choose the voucher series": "Välj verifikationsserie",
    "Map the accounts": "Koppla kontona",
    "Enroll the register": "Registrera kassan",
    "next": "nästa steg",
    "When": "När",
    # SIE files and the start date (DESIGN.md section 7)
    "Start date": "Startdatum",
    "sync_from": "Startdatum",
    "The first business day the integration sends; earlier days are booked another way (e.g. a SIE file).": "Den första affärsdagen som integrationen skickar; tidigare dagar bokförs på annat sätt (t.ex. med en SIE-fil).",
    "SIE files": "SIE-filer",
    "Check a SIE file before importing it": "Kontrollera en SIE-fil innan du importerar den",
    "Each voucher in the file that books a day Dagskassa already posted is listed, so the same sales are not booked twice.": "Varje verifikation i filen som bokför en dag som Dagskassa redan har bokfört listas, så att samma försäljning inte bokförs två gånger.",
    "SIE file": "SIE-fil",
    "At most {mb} MB.": "Högst {mb} MB.",
    "The file is for organisation number {org}, not this store's.": "Filen gäller organisationsnummer {org}, inte den här butikens.",
    "{count} of {total} vouchers in {name} book days Dagskassa already posted.": "{count} av {total} verifikationer i {name} bokför dagar som Dagskassa redan har bokfört.",
    "Remove them from the file before importing it.": "Ta bort dem ur filen innan du importerar den.",
    "Match": "Träff",
    "Voucher in the file": "Verifikation i filen",
    "Posted by Dagskassa": "Bokförd av Dagskassa",
    "exact": "exakt",
    "probable": "trolig",
    "line": "rad",
    "same date and the same {pairs} account/amount pairs": "samma datum och samma {pairs} par av konto och belopp",
    "same date, output VAT {vat} and sales {sales}": "samma datum, utgående moms {vat} och försäljning {sales}",
    "other rows differ": "andra rader skiljer sig",
    "carries our marker": "har vår märkning",
    "None of the {total} vouchers in {name} books a day Dagskassa already posted.": "Ingen av de {total} verifikationerna i {name} bokför en dag som Dagskassa redan har bokfört.",
    "Export days as a SIE file": "Exportera dagar som SIE-fil",
    "The vouchers of the chosen days as a SIE 4I file to import. Those days are then booked through the file only: the integration will not send them.": "Verifikationerna för de valda dagarna som en SIE 4I-fil att importera. De dagarna bokförs sedan bara genom filen: integrationen skickar dem inte.",
    "Days up to {day} were exported as SIE.": "Dagar till och med {day} är exporterade som SIE.",
    "From": "Från",
    "To": "Till",
    "Add a checksum (#KSUMMA)": "Lägg till kontrollsumma (#KSUMMA)",
    "Download SIE file": "Ladda ned SIE-fil",
    "Days marked as already booked by hand are in the books: a SIE file may not hold them.": "Dagar som markerats som redan bokförda för hand finns i bokföringen: en SIE-fil får inte innehålla dem.",
    "Choose a SIE file to check.": "Välj en SIE-fil att kontrollera.",
    "Check the file": "Kontrollera filen",
    "The file is larger than {mb} MB.": "Filen är större än {mb} MB.",
    "Who": "Vem",
    "What": "Vad",
    # stores and users (an agency admin's page) and the background check of all stores
    "Stores and users": "Butiker och användare",
    "Agency admin": "Byråadministratör",
    "Store manager": "Butikschef",
    "{email} can now sign in with this temporary password. It is shown only this once: hand it over now.": "{email} kan nu logga in med det här tillfälliga lösenordet. Det visas bara den här gången: lämna över det nu.",
    "Add a store": "Lägg till en butik",
    "Name": "Namn",
    "Time zone": "Tidszon",
    "Add the store": "Lägg till butiken",
    "Invite a user": "Bjud in en användare",
    "Role": "Roll",
    "Stores they manage": "Butiker de ansvarar för",
    "Add a store first.": "Lägg till en butik först.",
    "Create the user": "Skapa användaren",
    "All stores": "Alla butiker",
    "Deactivated": "Inaktiverad",
    "Deactivate": "Inaktivera",
    "Reactivate": "Aktivera igen",
    "Store {name} was added.": "Butiken {name} är tillagd.",
    "The stores of {email} were saved.": "Butikerna för {email} är sparade.",
    "{email} can sign in again.": "{email} kan logga in igen.",
    "{email} was deactivated.": "{email} är inaktiverad.",
    "name": "Namn",
    "org_number": "Organisationsnummer",
    "timezone": "Tidszon",
    "role": "Roll",
    "email": "E-post",
    "user": "Användare",
    "Every store will be checked in the background; the results appear here as they come.": "Alla butiker kontrolleras i bakgrunden; resultaten visas här allteftersom.",
    "A check of all stores is already running.": "En kontroll av alla butiker pågår redan.",
    "Check of all stores queued; it starts in a moment": "Kontrollen av alla butiker är köad; den börjar strax",
    "Checking all stores: {done} of {total} checked, {failed} failed": "Kontrollerar alla butiker: {done} av {total} kontrollerade, {failed} underkända",
    "All {total} stores checked {when}: {failed} failed": "Alla {total} butiker kontrollerade {when}: {failed} underkända",
    "The check of all stores stopped: {error}": "Kontrollen av alla butiker avbröts: {error}",
    "They must choose their own password when they first sign in.": "De måste välja ett eget lösenord när de loggar in första gången.",
    "Change password": "Byt lösenord",
    "Current password": "Nuvarande lösenord",
    "New password": "Nytt lösenord",
    "The new password again": "Det nya lösenordet igen",
    "Wrong password.": "Fel lösenord.",
    "The new password must have at least {count} characters.": "Det nya lösenordet måste ha minst {count} tecken.",
    "The two new passwords differ.": "De två nya lösenorden skiljer sig åt.",
    "Your password was changed.": "Ditt lösenord är bytt.",
    "Choose a new password, not the one you have now.": "Välj ett nytt lösenord, inte det du har nu.",
    "Your password was chosen by someone else: choose your own before you go on.": "Ditt lösenord valdes av någon annan: välj ett eget innan du fortsätter.",
}


def _(text: str, **values: Any) -> str:
    """``text`` in the current language, with ``{name}`` placeholders filled in."""
    if g.get("lang", "sv") == "sv":
        text = SV.get(text, text)
    return text.format(**values) if values else text


def sek(amount: Decimal | None) -> str:
    """Amounts as a Swedish reader writes them, in both languages: ``1 234,50 kr``."""
    return "" if amount is None else format_sek(amount)


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def init_app(app: Flask, default_language: str) -> None:
    def choose_language() -> None:
        user = g.get("user")
        chosen = session.get("lang") or (user.language if user is not None else None)
        g.lang = chosen if chosen in LANGUAGES else default_language

    def switch_language(code: str) -> Any:
        if code in LANGUAGES:
            session["lang"] = code
        target = request.referrer or ""
        return redirect(target if target.startswith(request.host_url) else url_for("auth.login"))

    app.before_request(choose_language)
    app.add_url_rule("/language/<code>", "language", switch_language)
    app.jinja_env.globals.update(_=_, languages=LANGUAGES)
    app.jinja_env.filters.update(sek=sek, when=when)
