"""Bulk import from another CRM: ``crm import contacts|accounts|deals|cases|interactions FILE``.

Each row of a CSV or JSON-lines file becomes the command the API would send, run by the
same handler (every rule applies), with an id derived from the row's external id so that
importing it again records nothing. Batches of rows are recorded in one transaction each,
sealed and chained exactly as ``CrmEventStore.save`` records a command's events.

- ``kinds``: what each kind of row may hold (its targets) and the command it becomes
- ``mapping``: which column fills which target (``--map``, ``--mapping``, ``--set``)
- ``sources``: reading CSV and JSON lines; ``rows``: a record → a command, through the door
- ``batch``: running a batch through the handlers, sealing, chaining; ``storage``: writing it
- ``rejects``: the rejects file; ``run``: one import, start to end (workers, progress)

docs/IMPORTING.md is the user's guide.
"""
