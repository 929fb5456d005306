from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [
        migrations.RemoveField(model_name="webhookevent", name="data"),
        migrations.AddField(
            model_name="webhookevent", name="body", field=models.TextField(default=""), preserve_default=False
        ),
        migrations.AlterField(
            model_name="webhookevent", name="created_at", field=models.DateTimeField(db_index=True)
        ),
    ]
