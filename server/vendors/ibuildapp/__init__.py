"""iBuildApp Timesheets API: users, groups, clients, projects, tasks, time tracking (seed 001_def7881bc1b63970).

Handlers are the public async functions of this package's modules, each named by its operationId
and taking exactly its operation's parameters (server.api.handlers_in). Every operation is a POST
with a JSON body (the spec has validated it) and answers the vendor envelope. Handlers validate
fully (every referenced record exists, state allows the change) before they write, under
`store.lock`, so a refused request changes nothing.

Where each group lives:
- `users.py`:        login/register, users (get, create, update, search, dashboard, history, delete), groups
- `clients.py`:      clients (with CSV export) and invoices
- `comments.py`:     comments on invoices, tasks and time entries
- `work.py`:         tasks (with status and work history), projects, schedules, rates
- `timesheets.py`:   time entries (start/stop, CRUD, search), breaks, status history, approve, calc, export
- `integrations.py`: QuickBooks Online, Xero and ADP
- shared plumbing (request, envelope, search/group/paging, get/update/delete by table):
  `common.py`; what a delete takes with it: `cascade.py`; how records are sent: `records.py`,
  `views.py`; the error format: `errors.py`; sessions: `auth.py`.
"""

from server.api import Api
from server.vendors.ibuildapp.auth import AUTH_TENANT
from server.vendors.ibuildapp.errors import render

DEMO_APP = "demo"
DEMO_EMAIL = "test@test.com"
DEMO_PASSWORD = "12345678"
DEMO_TOKEN = "standin-ibuildapp-demo-token"

API = Api(
    name="ibuildapp",
    title="iBuildApp Timesheets API",
    render=render,
    demo={
        "app_code": DEMO_APP,
        "email": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "user_id": 1,
        "token": DEMO_TOKEN,
        "headers": {"Authorization": f"Bearer {DEMO_TOKEN}"},
        "path_parameters": {"APP_CODE": DEMO_APP, "app_path": DEMO_APP},  # contract runs test the demo app
    },
    sessions=((AUTH_TENANT, "tokens"),),
)
