from sqlalchemy import text


def test_each_backend_gets_a_migrated_database(backend, database):
    with database.session() as s:
        assert s.execute(text("SELECT count(*) FROM messages")).scalar() == 0
    assert database.dialect == ("postgresql" if backend == "postgres" else "sqlite")
