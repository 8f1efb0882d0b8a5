"""Contact data: owner, lifecycle stage, value tier, source, notes, region, RFM scores; custom fields,
important dates, tags, consent history and the global suppression list; jsonb attributes on PostgreSQL.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN where it suffices: contacts may hold millions of rows, and a rebuild copies them all.
    for column in (
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("lifecycle_stage", sa.String(length=20), nullable=True),
        sa.Column("value_tier", sa.String(length=10), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("rfm_recency", sa.Integer(), nullable=True),
        sa.Column("rfm_frequency", sa.Integer(), nullable=True),
        sa.Column("rfm_monetary", sa.Integer(), nullable=True),
        sa.Column("rfm_updated_at", core.db.UTCDateTime(timezone=True), nullable=True),
    ):
        op.add_column("contacts", column)
    # The foreign key needs a table rebuild on SQLite (batch mode; migrations/env.py turns foreign key
    # enforcement off meanwhile, so dropping the old table cascades nowhere).
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_contacts_owner_id_users"), "users", ["owner_id"], ["id"],
                                 ondelete="SET NULL")
    op.create_index(op.f("ix_contacts_owner_id"), "contacts", ["owner_id"])
    op.create_index(op.f("ix_contacts_lifecycle_stage"), "contacts", ["lifecycle_stage"])
    op.create_index(op.f("ix_contacts_value_tier"), "contacts", ["value_tier"])

    if op.get_bind().dialect.name == "postgresql":
        # jsonb: parsed once on write, so segment conditions over custom fields do not re-parse the
        # document per operator, and a GIN index can answer containment queries.
        op.execute("ALTER TABLE contacts ALTER COLUMN attributes TYPE jsonb USING attributes::jsonb")
        op.create_index("ix_contacts_attributes_gin", "contacts", ["attributes"], postgresql_using="gin")

    op.create_table(
        "custom_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("key", name=op.f("uq_custom_fields_key")),
    )
    op.create_table(
        "contact_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_contact_dates_contact_id_contacts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_dates")),
    )
    op.create_index("ix_contact_dates_kind_date", "contact_dates", ["kind", "date"])
    op.create_index("ix_contact_dates_contact", "contact_dates", ["contact_id"])
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    op.create_table(
        "contact_tags",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("added_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_contact_tags_contact_id_contacts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_contact_tags_tag_id_tags"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id", "tag_id", name=op.f("pk_contact_tags")),
    )
    op.create_index("ix_contact_tags_tag", "contact_tags", ["tag_id"])
    op.create_table(
        "consent_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("changed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_consent_changes_contact_id_contacts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["changed_by"], ["users.id"], name=op.f("fk_consent_changes_changed_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_changes")),
    )
    op.create_index("ix_consent_changes_contact", "consent_changes", ["contact_id", "changed_at"])
    # The current statuses become the first entry of each history, so no contact's history starts empty.
    op.execute("INSERT INTO consent_changes (contact_id, channel, status, source, changed_at) "
               "SELECT contact_id, channel, status, source, changed_at FROM consents")
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("channel", "address", name=op.f("uq_suppressions_channel_address")),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_index("ix_consent_changes_contact", table_name="consent_changes")
    op.drop_table("consent_changes")
    op.drop_index("ix_contact_tags_tag", table_name="contact_tags")
    op.drop_table("contact_tags")
    op.drop_table("tags")
    op.drop_index("ix_contact_dates_contact", table_name="contact_dates")
    op.drop_index("ix_contact_dates_kind_date", table_name="contact_dates")
    op.drop_table("contact_dates")
    op.drop_table("custom_fields")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_contacts_attributes_gin", table_name="contacts")
        op.execute("ALTER TABLE contacts ALTER COLUMN attributes TYPE json USING attributes::json")
    op.drop_index(op.f("ix_contacts_value_tier"), table_name="contacts")
    op.drop_index(op.f("ix_contacts_lifecycle_stage"), table_name="contacts")
    op.drop_index(op.f("ix_contacts_owner_id"), table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_constraint(op.f("fk_contacts_owner_id_users"), type_="foreignkey")
        batch.drop_column("owner_id")
    for column in ("rfm_updated_at", "rfm_monetary", "rfm_frequency", "rfm_recency", "notes", "source",
                   "value_tier", "lifecycle_stage", "region"):
        op.drop_column("contacts", column)
