import { Faker, en, base } from '@faker-js/faker';
const f = new Faker({ locale: [en, base] }); f.seed(1);
let t = performance.now(); for (let i=0;i<100000;i++) f.string.uuid(); console.log('uuid', (performance.now()-t)/100, 'us');
t = performance.now(); for (let i=0;i<100000;i++) f.number.int({min:0,max:100}); console.log('int', (performance.now()-t)/100, 'us');
t = performance.now(); for (let i=0;i<100000;i++) f.number.float(); console.log('float', (performance.now()-t)/100, 'us');
t = performance.now(); for (let i=0;i<10000;i++) f.internet.url(); console.log('url', (performance.now()-t)/10, 'us');
console.log(f.string.uuid(), Object.keys(f.internet).slice(0,50).join(','));
