"""Productive API v2: JSON:API widgets and entitlements (seeds 000_9bcbfb234c7390af, 002_96a0c1c7389aaa85)."""

from server.api import Api
from server.vendors.productive.errors import render

DEMO_TOKEN = "standin-productive-demo-token"
DEMO_ORGANIZATION = 1308  # the organization of seed 000's widget list

API = Api(
    name="productive",
    title="Productive API v2",
    render=render,
    strict_query=("filter[",),  # the vendor answers 400 Unsupported Filter; other unknown params are ignored
    demo={
        "organization_id": DEMO_ORGANIZATION,
        "headers": {
            "X-Auth-Token": DEMO_TOKEN,
            "X-Organization-Id": str(DEMO_ORGANIZATION),
            "Content-Type": "application/vnd.api+json",
        },
    },
)
