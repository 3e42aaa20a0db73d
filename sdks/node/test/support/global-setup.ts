/** Once per run: a template database migrated by authz's own migrations (the SDK tests run the real authz app on copies). */
import { migrate } from '@warden/authz';
import { pgTemplateSetup } from '@warden/testkit/vitest';

export default pgTemplateSetup(migrate);
