"""Where findings come from: the catalogue, the units' listing pages, portal links and dossier exports."""
