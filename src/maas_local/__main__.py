from maas_local.cli import main

raise SystemExit(main())
