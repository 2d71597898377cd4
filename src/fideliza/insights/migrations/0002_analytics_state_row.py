from django.db import migrations


def create_state(apps, schema_editor):
    AnalyticsState = apps.get_model("insights", "AnalyticsState")
    AnalyticsState.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_initial")]

    operations = [migrations.RunPython(create_state, migrations.RunPython.noop)]
