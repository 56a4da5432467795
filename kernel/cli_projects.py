"""``herald project create|list`` and ``herald key create|list|revoke``: the operator's commands (they
need the admin key)."""

from __future__ import annotations

import argparse

from herald.v1 import projects_pb2, projects_pb2_grpc
from kernel.client import (
    Connection,
    add_connection_options,
    add_paging_options,
    client_command,
    moment,
    paged,
)


def _projects(connection: Connection) -> projects_pb2_grpc.ProjectServiceStub:
    return projects_pb2_grpc.ProjectServiceStub(connection.channel)


def create_project(connection: Connection, args: argparse.Namespace) -> int:
    from kernel.server import herald_command

    request = projects_pb2.CreateProjectRequest(name=args.name)
    reply = connection.call(_projects(connection).CreateProject, request)
    secret = reply.initial_api_key.secret
    print(f"project {reply.project_id} created.\nAPI key (shown once): {secret}")
    print(f"\nTry it:  HERALD_API_KEY={secret} {herald_command()} import profiles.jsonl")
    return 0


def list_projects(connection: Connection, args: argparse.Namespace) -> int:
    request = projects_pb2.ListProjectsRequest()
    for project in paged(connection, _projects(connection).ListProjects, request, "projects", args):
        timezone = project.settings.timezone or "UTC"
        print(f"{project.project_id}  {moment(project.created_at)}  {timezone:<20} {project.name}")
    return 0


def _key_line(key: projects_pb2.ApiKey) -> str:
    revoked = f"revoked {moment(key.revoked_at)}" if key.HasField("revoked_at") else "valid"
    return f"{key.key_id}  {key.prefix}...  {moment(key.created_at)}  {revoked:<27} {key.name}"


def create_key(connection: Connection, args: argparse.Namespace) -> int:
    request = projects_pb2.CreateApiKeyRequest(project_id=args.project_id, name=args.name)
    key = connection.call(_projects(connection).CreateApiKey, request)
    print(f"key {key.key_id} created.\nAPI key (shown once): {key.secret}")
    return 0


def list_keys(connection: Connection, args: argparse.Namespace) -> int:
    request = projects_pb2.ListApiKeysRequest(project_id=args.project_id)
    for key in paged(connection, _projects(connection).ListApiKeys, request, "api_keys", args):
        print(_key_line(key))
    return 0


def revoke_key(connection: Connection, args: argparse.Namespace) -> int:
    request = projects_pb2.RevokeApiKeyRequest(project_id=args.project_id, key_id=args.key_id)
    print(_key_line(connection.call(_projects(connection).RevokeApiKey, request)))
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``project`` and ``key`` with their subcommands, under ``herald``."""
    project = commands.add_parser("project", help="manage projects (admin key)")
    project_commands = project.add_subparsers(dest="project_command", required=True)
    create = project_commands.add_parser("create", help="create a project and its first API key")
    create.add_argument("name")
    listing = project_commands.add_parser("list", help="every project: id, created, time zone, name")
    add_paging_options(listing)
    for parser, command in ((create, create_project), (listing, list_projects)):
        add_connection_options(parser, "admin")
        parser.set_defaults(run=client_command("admin", command))

    key = commands.add_parser("key", help="manage a project's API keys (admin key)")
    key_commands = key.add_subparsers(dest="key_command", required=True)
    create = key_commands.add_parser("create", help="create an API key (its secret is shown once)")
    create.add_argument("project_id")
    create.add_argument("name", help="a label for humans")
    listing = key_commands.add_parser("list", help="the project's keys, revoked ones included")
    listing.add_argument("project_id")
    add_paging_options(listing)
    revoke = key_commands.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("project_id")
    revoke.add_argument("key_id")
    for parser, command in ((create, create_key), (listing, list_keys), (revoke, revoke_key)):
        add_connection_options(parser, "admin")
        parser.set_defaults(run=client_command("admin", command))
