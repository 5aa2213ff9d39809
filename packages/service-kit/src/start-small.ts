import { holdYoungGenerationWhileStarting } from './young-generation.js';

// An app's main imports this first (`import '@chorus/service-kit/start-small'`), so that it runs
// before the app's other modules load: loading them is what grew the young generation (see
// holdYoungGenerationWhileStarting). The app calls letYoungGenerationGrow once it listens.
holdYoungGenerationWhileStarting();
