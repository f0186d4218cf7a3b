"""iBuildApp Timesheets API: users, groups, clients, projects, tasks, time tracking (seed 001_def7881bc1b63970)."""

from server.api import Api
from server.vendors.ibuildapp import handlers
from server.vendors.ibuildapp.auth import AUTH_TENANT
from server.vendors.ibuildapp.errors import render

DEMO_APP = "demo"
DEMO_EMAIL = "test@test.com"
DEMO_PASSWORD = "12345678"
DEMO_TOKEN = "standin-ibuildapp-demo-token"

API = Api(
    name="ibuildapp",
    title="iBuildApp Timesheets API",
    handlers=handlers,
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
