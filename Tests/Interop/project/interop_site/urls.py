"""No URLs: the project is driven by scripts and task workers only."""

urlpatterns = []
