"""The sandbox's HTML: the consent page of the authorization endpoint and the ledger page."""

from __future__ import annotations

from typing import Any

from flask import render_template_string, request

# -- OAuth -----------------------------------------------------------------------------------------------

SCOPE_NAMES = {
    "companyinformation": "Företagsinformation",
    "bookkeeping": "Bokföring",
    "costcenter": "Kostnadsställen",
    "settings": "Inställningar",
    "invoice": "Faktura",
    "order": "Order",
    "customer": "Kund",
    "inbox": "Inkorg",
    "connectfile": "Koppla filer",
}

PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Fortnox sandbox – {{ title }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;color:#1b1b1b}
.box{border:1px solid #ccd;border-radius:8px;padding:1.5rem}.problem{color:#a00}label{display:block;margin:.6rem 0}
input[type=email],input[type=password],select{width:100%;padding:.4rem}button{padding:.5rem 1.2rem;margin-right:.5rem}
.note{color:#666;font-size:.85rem}</style></head><body>
<p class="note">Fortnox sandbox – en lokal efterbildning av Fortnox, inte Fortnox.</p>
<div class="box">{{ body | safe }}</div></body></html>"""

CONSENT = """<h1>Koppla {{ client_id }} till Fortnox</h1>
{% if problem %}<p class="problem" role="alert">{{ problem }}</p>{% endif %}
<p>Appen <strong>{{ client_id }}</strong> begär behörighet till:</p>
<ul>{% for scope in scopes %}<li>{{ scope_names.get(scope, scope) }} (<code>{{ scope }}</code>)</li>{% endfor %}</ul>
{% if service %}<p><strong>Servicekonto:</strong> kopplingen görs för företaget, inte för dig som person.</p>{% endif %}
<form method="post" action="{{ action }}">
{% for name, value in params.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
<label>E-post <input type="email" name="email" value="{{ email }}" autocomplete="username"></label>
<label>Lösenord <input type="password" name="password" value="{{ password }}" autocomplete="current-password"></label>
{% if user_tenants %}<label>Företag <select name="tenant">{% for t in user_tenants %}
<option value="{{ t.database_number }}">{{ t.company.CompanyName }} ({{ t.database_number }})</option>{% endfor %}
</select></label>{% endif %}
<button type="submit" name="decision" value="grant">Godkänn</button>
<button type="submit" name="decision" value="deny">Neka</button>
</form>"""


def consent_page(
    params: dict[str, str],
    *,
    problem: str = "",
    status: int = 200,
    user_tenants: list | None = None,
    email: str = "",
    password: str = "",
) -> tuple[str, int]:
    body = render_template_string(
        CONSENT,
        client_id=params["client_id"],
        scopes=params["scope"].split(),
        scope_names=SCOPE_NAMES,
        service=params.get("account_type") == "service",
        params=params,
        problem=problem,
        action=request.path,
        user_tenants=user_tenants,
        email=email,
        password=password,
    )
    return render_template_string(PAGE, title="Godkänn koppling", body=body), status


def error_page(message: str) -> tuple[str, int]:
    body = render_template_string("<h1>Felaktig begäran</h1><p class='problem'>{{ m }}</p>", m=message)
    return render_template_string(PAGE, title="Fel", body=body), 400


# -- ledger -------------------------------------------------------------------------------------------------

LEDGER = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Fortnox sandbox – huvudbok</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b}table{border-collapse:collapse;margin:.4rem 0 1.2rem}
td,th{border-bottom:1px solid #dde;padding:.2rem .6rem;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
h2{margin-top:2rem}.meta{color:#666}</style></head><body>
<h1>Fortnox sandbox – verifikationer per företag</h1>
<p class="meta">Klockan i sandlådan: {{ now }}. JSON: <a href="ledger.json">ledger.json</a>.</p>
{% for tenant in tenants %}
<section><h2>{{ tenant.company_name }} ({{ tenant.database_number }})</h2>
{% if not tenant.vouchers %}<p class="meta">Inga verifikationer.</p>{% endif %}
{% for v in tenant.vouchers %}
<h3>{{ v.series }} {{ v.number }} · {{ v.transaction_date }} · {{ v.description }}</h3>
<p class="meta">Räkenskapsår {{ v.year }}{% if v.comments %} · {{ v.comments }}{% endif %}</p>
{% for f in v.files %}<p class="attachment">Bifogad fil: <a href="{{ f.url }}">{{ f.name }}</a> ({{ f.size }} byte)</p>{% endfor %}
<table><thead><tr><th>Konto</th><th>Benämning</th><th>Debet</th><th>Kredit</th><th>Kostnadsställe</th><th>Text</th></tr></thead><tbody>
{% for r in v.rows %}<tr><td>{{ r.account }}</td><td>{{ r.account_name }}</td><td class="num">{{ r.debit }}</td><td class="num">{{ r.credit }}</td>
<td>{{ r.cost_center }}</td><td>{{ r.transaction_information }}</td></tr>{% endfor %}
</tbody></table>
{% endfor %}</section>
{% endfor %}
</body></html>"""


def ledger_page_html(tenants: list[dict[str, Any]], now: str) -> str:
    return render_template_string(LEDGER, tenants=tenants, now=now)
