"""Merge the content-checks branch (0031_gallery: gallery_templates and the seed list for test sends) into the
head that holds the inbox, China SMS, journeys, calendar and sign-ups (0034).

Tables no other branch touches, so either order gives the same schema.

Revision ID: 0035_merge_gallery
Revises: 0034_merge_signup, 0031_gallery
"""

revision = "0035_merge_gallery"
down_revision = ("0034_merge_signup", "0031_gallery")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
